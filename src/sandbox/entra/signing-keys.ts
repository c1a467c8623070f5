import { createHash, webcrypto } from "node:crypto";
import { cachedRsaKeyPair, randomSerialNumber, RSA_SHA256, type CryptoKey } from "../tls/keys.js";
import { x509 } from "../tls/x509.js";

/** One token-signing key as Entra publishes it: kid = x5t = base64url SHA-1 of the certificate. */
export interface SigningKey {
  readonly kid: string;
  readonly x5t: string;
  readonly privateKey: CryptoKey;
  readonly publicKey: CryptoKey;
  /** Base64 DER of the key's self-signed certificate (`x5c[0]`). */
  readonly certificateBase64: string;
  /** RSA modulus and exponent, base64url. */
  readonly n: string;
  readonly e: string;
}

export interface JsonWebKeySet {
  keys: {
    kty: "RSA";
    use: "sig";
    kid: string;
    x5t: string;
    n: string;
    e: string;
    x5c: string[];
    issuer?: string;
  }[];
}

/**
 * Keys are memoised per slot for the whole process (RSA generation is slow, see tls/keys.ts). Each
 * key ring walks slots 0, 1, 2... so within one emulator every key is distinct, and a rotated-out key
 * never comes back.
 */
const bySlot = new Map<number, Promise<SigningKey>>();

function signingKeyForSlot(slot: number): Promise<SigningKey> {
  let pending = bySlot.get(slot);
  if (pending === undefined) {
    pending = makeSigningKey(slot);
    bySlot.set(slot, pending);
  }
  return pending;
}

async function makeSigningKey(slot: number): Promise<SigningKey> {
  const keys = await cachedRsaKeyPair("entra-signing", slot);
  const now = Date.now();
  // Entra publishes a self-signed certificate per key, subject CN=accounts.accesscontrol.windows.net.
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerialNumber(),
    name: "CN=accounts.accesscontrol.windows.net",
    notBefore: new Date(now - 24 * 3600_000),
    notAfter: new Date(now + 5 * 365 * 24 * 3600_000),
    signingAlgorithm: RSA_SHA256,
    keys,
  });
  const der = Buffer.from(cert.rawData);
  const x5t = createHash("sha1").update(der).digest("base64url");
  const jwk = await webcrypto.subtle.exportKey("jwk", keys.publicKey);
  return {
    kid: x5t,
    x5t,
    privateKey: keys.privateKey,
    publicKey: keys.publicKey,
    certificateBase64: der.toString("base64"),
    n: jwk.n!,
    e: jwk.e!,
  };
}

/**
 * The tenant's active signing keys, oldest first. Tokens are signed with the oldest, so that
 * `rotate()` (retire the oldest, add a new one) makes the kid of every token issued so far disappear
 * from the JWKS, which is what a validator sees after a real rollover.
 */
export class SigningKeyRing {
  #keys: Promise<SigningKey[]>;
  #nextSlot: number;

  private constructor(keys: Promise<SigningKey[]>, nextSlot: number) {
    this.#keys = keys;
    this.#nextSlot = nextSlot;
  }

  /** Starts with `count` (at least two, as Entra publishes) active keys. */
  static async create(count = 2): Promise<SigningKeyRing> {
    const keys = Promise.all(Array.from({ length: Math.max(2, count) }, (_, slot) => signingKeyForSlot(slot)));
    await keys;
    return new SigningKeyRing(keys, Math.max(2, count));
  }

  active(): Promise<SigningKey[]> {
    return this.#keys;
  }

  async signingKey(): Promise<SigningKey> {
    return (await this.#keys)[0]!;
  }

  /** Synchronous for callers; requests arriving meanwhile wait for the new key. */
  rotate(): void {
    const slot = this.#nextSlot++;
    this.#keys = this.#keys.then(async (keys) => [...keys.slice(1), await signingKeyForSlot(slot)]);
  }

  /**
   * Publishes the next key ahead of its use, as Entra does before a rollover (learn.microsoft.com
   * entra/identity-platform/signing-key-rollover): the signing key stays, the oldest key that signs
   * nothing leaves. The published set changes; no token issued so far stops verifying.
   */
  publishNext(): void {
    const slot = this.#nextSlot++;
    this.#keys = this.#keys.then(async (keys) => [keys[0]!, ...keys.slice(2), await signingKeyForSlot(slot)]);
  }

  /** The JWKS document; v2 sets carry `issuer` on each key (docs/REFERENCE.md §1). */
  async jwks(issuer?: string): Promise<JsonWebKeySet> {
    return {
      keys: (await this.#keys).map((k) => ({
        kty: "RSA",
        use: "sig",
        kid: k.kid,
        x5t: k.x5t,
        n: k.n,
        e: k.e,
        x5c: [k.certificateBase64],
        ...(issuer === undefined ? {} : { issuer }),
      })),
    };
  }
}
