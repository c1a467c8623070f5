// Order matters: reflect-metadata must load before @peculiar/x509 (its tsyringe container needs it).
import "reflect-metadata";
import { webcrypto } from "node:crypto";
import * as x509 from "@peculiar/x509";

// @peculiar/x509 needs a WebCrypto provider; Node's is the one every module here uses.
x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

/** @peculiar/x509, ready to use. Import it from here, never directly, so the set-up above runs first. */
export { x509 };
