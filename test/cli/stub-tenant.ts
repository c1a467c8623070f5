import type { IncomingMessage, ServerResponse } from "node:http";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateKeyPair, jwtVerify, SignJWT } from "jose";
import { startLoopbackHttps, type LoopbackServer } from "../core/http/loopback-https.js";

export const TENANT = "7d3c2f4e-1a6b-4c59-9e2d-5b8f0a1c3e47";
export const CLIENT = "c2a8e5f1-7b39-4d06-8e4a-1f5c9b3d7a62";
export const UNASSIGNED = "a5d1f8c3-9e27-4b64-8a0d-2c6e4f1b7d93";
export const CANARY = {
  secret: "canary-client-secret-Zq9~x",
  unassignedSecret: "canary-unassigned-secret-Zq9~y",
  key: "c0ffee00c0ffee00c0ffee00c0ffee00",
};

export interface StubTenant {
  origin: string;
  caFile: string;
  /** Every access token the stub issued (none may appear in any output). */
  issued: string[];
  expiredToken: string;
  env(): Record<string, string>;
  close(): Promise<void>;
}

/**
 * One loopback HTTPS origin playing a tiny Entra tenant (discovery + v2 token endpoint) and a strict
 * APIM operation at /orders/health. Only for CLI unit tests; the end-to-end tests use the sandbox.
 */
export async function startStubTenant(): Promise<StubTenant> {
  const keys = await generateKeyPair("RS256");
  const issued: string[] = [];
  const holder: { server?: LoopbackServer } = {};
  const sign = (claims: Record<string, unknown>, exp: number | string) =>
    new SignJWT(claims).setProtectedHeader({ alg: "RS256", kid: "k1" }).setIssuedAt().setExpirationTime(exp).sign(keys.privateKey);

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const json = (status: number, body: unknown): void => void res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
    const origin = holder.server!.origin;
    const url = new URL(req.url ?? "/", origin).pathname;
    if (url.endsWith("/.well-known/openid-configuration")) {
      json(200, {
        issuer: `https://login.microsoftonline.com/${TENANT}/v2.0`,
        token_endpoint: `${origin}/${TENANT}/oauth2/v2.0/token`,
        authorization_endpoint: `${origin}/${TENANT}/oauth2/v2.0/authorize`,
        end_session_endpoint: `${origin}/${TENANT}/oauth2/v2.0/logout`,
        jwks_uri: `${origin}/${TENANT}/discovery/v2.0/keys`,
      });
      return;
    }
    if (url.endsWith("/oauth2/v2.0/token")) {
      let body = "";
      for await (const chunk of req) body += String(chunk);
      const form = new URLSearchParams(body);
      const clientId = form.get("client_id");
      const scope = form.get("scope")?.split(" ").find((s) => s.endsWith("/.default")) ?? "";
      if (clientId === UNASSIGNED && form.get("client_secret") === CANARY.unassignedSecret) {
        json(400, { error: "invalid_grant", error_description: "AADSTS501051: Application is not assigned to a role.", error_codes: [501051] });
        return;
      }
      if (clientId !== CLIENT || form.get("client_secret") !== CANARY.secret) {
        json(401, { error: "invalid_client", error_description: "AADSTS7000215: Invalid client secret provided.", error_codes: [7000215] });
        return;
      }
      const aud = scope.replace("/.default", "");
      const token = await sign({ aud, azp: CLIENT, ver: "2.0", ...(aud === "api://orders-api" ? { roles: ["Api.Access"] } : {}) }, "1h");
      issued.push(token);
      json(200, { token_type: "Bearer", expires_in: 3599, ext_expires_in: 3599, access_token: token });
      return;
    }
    if (url.startsWith("/orders/health")) {
      const deny = (message: string): void => json(401, { statusCode: 401, message });
      const key = req.headers["ocp-apim-subscription-key"];
      if (!key) return deny("Access denied due to missing subscription key.");
      if (key !== CANARY.key) return deny("Access denied due to invalid subscription key.");
      const auth = req.headers.authorization;
      if (!auth?.startsWith("Bearer ")) return deny("JWT not present.");
      try {
        await jwtVerify(auth.slice(7), keys.publicKey, { audience: "api://orders-api", algorithms: ["RS256"] });
      } catch {
        return deny("Invalid JWT.");
      }
      json(200, { status: "healthy" });
      return;
    }
    json(404, { statusCode: 404, message: "Resource not found" });
  }

  const server = await startLoopbackHttps((req, res) => void handle(req, res));
  holder.server = server;
  const dir = mkdtempSync(join(tmpdir(), "stub-tenant-"));
  const caFile = join(dir, "ca.pem");
  writeFileSync(caFile, server.caPem);
  const expiredToken = await sign({ aud: "api://orders-api", azp: CLIENT, ver: "2.0", roles: ["Api.Access"] }, Math.floor(Date.now() / 1000) - 3600);
  const origin = server.origin;
  return {
    origin,
    caFile,
    issued,
    expiredToken,
    env: () => ({
      PROBE_TENANT_ID: TENANT,
      PROBE_AUTHORITY_HOST: origin,
      PROBE_CLIENT_ID: CLIENT,
      PROBE_CLIENT_SECRET: CANARY.secret,
      PROBE_API_URL: `${origin}/orders/health`,
      PROBE_API_SCOPE: "api://orders-api/.default",
      PROBE_SUBSCRIPTION_KEY: CANARY.key,
      PROBE_UNASSIGNED_CLIENT_ID: UNASSIGNED,
      PROBE_UNASSIGNED_CLIENT_SECRET: CANARY.unassignedSecret,
      PROBE_EXPIRED_TOKEN: expiredToken,
      PROBE_TIMEOUT_MS: "5000",
      NODE_EXTRA_CA_CERTS: caFile,
    }),
    close: () => server.close(),
  };
}
