import { webcrypto } from "node:crypto";

export type CryptoKey = webcrypto.CryptoKey;
export type CryptoKeyPair = webcrypto.CryptoKeyPair;
import { x509 } from "./x509.js";

/** RSASSA-PKCS1-v1_5 with SHA-256: what TLS certificates and RS256 tokens are signed with. */
export const RSA_SHA256: webcrypto.RsaHashedKeyGenParams = {
  name: "RSASSA-PKCS1-v1_5",
  hash: "SHA-256",
  publicExponent: new Uint8Array([1, 0, 1]),
  modulusLength: 2048,
};

/**
 * Generating a 2048-bit RSA key costs 50 to 300 ms on our 2-core machines, and a test suite starts
 * many sandboxes. Keys are therefore generated once per process per `purpose` and `slot` and reused:
 * two sandboxes in one process share key material, but each still gets its own certificates (own
 * serial numbers, own CA name). Nothing here is a production secret.
 */
const cache = new Map<string, Promise<CryptoKeyPair>>();

export function cachedRsaKeyPair(purpose: string, slot = 0): Promise<CryptoKeyPair> {
  const id = `${purpose}#${slot}`;
  let pending = cache.get(id);
  if (pending === undefined) {
    pending = webcrypto.subtle.generateKey(RSA_SHA256, true, ["sign", "verify"]);
    cache.set(id, pending);
  }
  return pending;
}

/** PKCS#8 PEM of a private key (what node:tls and MSAL's `clientCertificate.privateKey` take). */
export async function privateKeyPem(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey("pkcs8", key);
  return x509.PemConverter.encode(der, "PRIVATE KEY");
}

/** A random positive serial number (hex), as RFC 5280 asks: unique per issuer, at most 20 octets. */
export function randomSerialNumber(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = bytes[0]! & 0x7f;
  return Buffer.from(bytes).toString("hex");
}
