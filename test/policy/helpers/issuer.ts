import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from "jose";
import { Agent } from "undici";
import { createSandboxCa } from "../../../src/sandbox/tls/ca.js";
import { ORDERS_API, PROBE_CLIENT, SANDBOX_TENANT_ID } from "../../../src/sandbox/identities.js";

export const V1_ISSUER = `https://sts.windows.net/${SANDBOX_TENANT_ID}/`;
export const V2_ISSUER = `https://login.microsoftonline.com/${SANDBOX_TENANT_ID}/v2.0`;
export const V2_OPENID_URL = `https://login.microsoftonline.com/${SANDBOX_TENANT_ID}/v2.0/.well-known/openid-configuration`;
export const V1_OPENID_URL = `https://login.microsoftonline.com/${SANDBOX_TENANT_ID}/.well-known/openid-configuration`;

export interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export async function createSigningKey(kid: string, alg = "RS256"): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, use: "sig" };
  return { kid, privateKey, publicJwk };
}

/** Claims of a v2 app-only token for the orders API from the probe client (docs/REFERENCE.md §1). */
export function v2Claims(nowMs: number, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const iat = Math.floor(nowMs / 1000);
  return {
    aud: ORDERS_API.clientId,
    iss: V2_ISSUER,
    iat,
    nbf: iat,
    exp: iat + 3900,
    azp: PROBE_CLIENT.clientId,
    azpacr: "1",
    oid: PROBE_CLIENT.objectId,
    sub: PROBE_CLIENT.objectId,
    tid: SANDBOX_TENANT_ID,
    roles: [ORDERS_API.role],
    ver: "2.0",
    ...overrides,
  };
}

export function v1Claims(nowMs: number, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const { azp: _azp, azpacr: _azpacr, ...rest } = v2Claims(nowMs);
  return {
    ...rest,
    aud: ORDERS_API.appIdUri,
    iss: V1_ISSUER,
    appid: PROBE_CLIENT.clientId,
    appidacr: "1",
    ver: "1.0",
    ...overrides,
  };
}

export async function mintToken(
  key: SigningKey,
  claims: Record<string, unknown>,
  header: { alg?: string; kid?: string | null } = {},
): Promise<string> {
  const alg = header.alg ?? "RS256";
  const protectedHeader: Record<string, unknown> = { alg, typ: "JWT" };
  if (header.kid !== null) protectedHeader.kid = header.kid ?? key.kid;
  return new SignJWT(claims).setProtectedHeader(protectedHeader as { alg: string }).sign(key.privateKey);
}

/** An unsigned token (`alg: none`), the way an attacker writes it: empty third segment. */
export function unsignedToken(claims: Record<string, unknown>): string {
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
  return `${encode({ alg: "none", typ: "JWT" })}.${encode(claims)}.`;
}

export interface OpenIdTestServer {
  origin: string;
  caPem: string;
  tls: { certPem: string; keyPem: string };
  dispatcher: Agent;
  /** Sends `login.microsoftonline.com` to this server, as the sandbox does. */
  rewriteUrl(url: URL): URL;
  setKeys(keys: readonly JWK[]): void;
  /** Requests per path since start. */
  hits(path: string): number;
  close(): Promise<void>;
}

/**
 * Entra's two discovery documents and key sets for the sandbox tenant, over real TLS on loopback.
 * The documents publish Azure's real URLs (issuer and jwks_uri), so clients need `rewriteUrl`.
 */
export async function startOpenIdTestServer(keys: readonly JWK[]): Promise<OpenIdTestServer> {
  const ca = await createSandboxCa();
  const tls = await ca.issueServerCertificate();
  let published = [...keys];
  const counts = new Map<string, number>();
  const tenant = `/${SANDBOX_TENANT_ID}`;
  const authority = `https://login.microsoftonline.com${tenant}`;
  const routes: Record<string, () => unknown> = {
    [`${tenant}/v2.0/.well-known/openid-configuration`]: () => ({
      issuer: V2_ISSUER,
      jwks_uri: `https://login.microsoftonline.com${tenant}/discovery/v2.0/keys`,
      token_endpoint: `${authority}/oauth2/v2.0/token`,
    }),
    [`${tenant}/.well-known/openid-configuration`]: () => ({
      issuer: V1_ISSUER,
      jwks_uri: `https://login.microsoftonline.com${tenant}/discovery/keys`,
      token_endpoint: `${authority}/oauth2/token`,
    }),
    [`${tenant}/discovery/v2.0/keys`]: () => ({ keys: published.map((key) => ({ ...key, issuer: V2_ISSUER })) }),
    [`${tenant}/discovery/keys`]: () => ({ keys: published }),
  };
  const server: Server = createServer({ cert: tls.certPem, key: tls.keyPem }, (req, res) => {
    const path = new URL(req.url ?? "/", "https://x").pathname;
    counts.set(path, (counts.get(path) ?? 0) + 1);
    const route = routes[path];
    if (route === undefined) {
      res.writeHead(404, { "content-type": "application/json" }).end("{}");
      return;
    }
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(route()));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const dispatcher = new Agent({ connect: { ca: ca.certPem } });
  return {
    origin,
    caPem: ca.certPem,
    tls,
    dispatcher,
    rewriteUrl(url) {
      if (url.hostname !== "login.microsoftonline.com") return url;
      return new URL(`${url.pathname}${url.search}`, origin);
    },
    setKeys(next) {
      published = [...next];
    },
    hits: (path) => counts.get(path) ?? 0,
    async close() {
      await dispatcher.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
