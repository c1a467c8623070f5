import { CompactSign, decodeProtectedHeader, generateKeyPair } from "jose";

/** RSA algorithms a generated RSA key can sign with; Entra signs RS256. */
const RSA_ALGS = new Set(["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"]);

type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>["privateKey"];

let forgeryKey: Promise<PrivateKey> | undefined;

/**
 * A private key generated in this process and never published anywhere: a token signed with it
 * carries a kid the tenant knows but a signature no published key verifies.
 */
function forgeryPrivateKey(): Promise<PrivateKey> {
  forgeryKey ??= generateKeyPair("RS256", { modulusLength: 2048 }).then((pair) => pair.privateKey);
  return forgeryKey;
}

function parts(token: string): [string, string, string] {
  const split = token.split(".");
  if (split.length !== 3 || !split[0] || !split[1]) throw new TypeError("not a compact JWS");
  return [split[0], split[1], split[2] ?? ""];
}

/**
 * The valid token's header (same kid, x5t, alg) and its exact claims, re-signed with the unpublished
 * key. A gateway that checks signatures must refuse it (TokenSignatureInvalid).
 */
export function forgeSignature(validToken: string): Promise<string> {
  // One signature per token, not per target: every target of a scope shares the token, and an RSA
  // signature is the costliest step of a run (500 of them per run at 500 targets, before this).
  const key = parts(validToken)[2];
  let forged = forgedBySignature.get(key);
  if (!forged) {
    forged = sign(validToken);
    forgedBySignature.set(key, forged);
    forged.catch(() => forgedBySignature.delete(key));
    // Tokens are renewed about hourly, a few scopes at a time: a small bound keeps the current ones.
    if (forgedBySignature.size > MAX_REMEMBERED) forgedBySignature.delete(forgedBySignature.keys().next().value!);
  }
  return forged;
}

const MAX_REMEMBERED = 64;
/** Keyed by the valid token's signature part: unique per token, and not a credential on its own. */
const forgedBySignature = new Map<string, Promise<string>>();

async function sign(validToken: string): Promise<string> {
  const [, payload] = parts(validToken);
  const header = decodeProtectedHeader(validToken);
  const alg = typeof header.alg === "string" && RSA_ALGS.has(header.alg) ? header.alg : "RS256";
  return new CompactSign(Buffer.from(payload, "base64url"))
    .setProtectedHeader({ ...header, alg })
    .sign(await forgeryPrivateKey());
}

/** The valid token's claims under `{"alg":"none","typ":"JWT"}` with an empty signature (RFC 7519 section 6). */
export function algNoneToken(validToken: string): string {
  const [, payload] = parts(validToken);
  const header = Buffer.from(JSON.stringify({ alg: "none", typ: "JWT" })).toString("base64url");
  return `${header}.${payload}.`;
}
