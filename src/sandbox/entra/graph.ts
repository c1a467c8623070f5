import { createHash, X509Certificate } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { compactVerify, createLocalJWKSet, decodeJwt, decodeProtectedHeader } from "jose";
import { CLOUDS } from "../../entra/clouds.js";
import type { EmulatorContext } from "./context.js";
import { sendJson } from "./http.js";
import { sameId } from "./model.js";

/** Microsoft Graph's app role that reads every app registration (its id in Graph's service principal). */
export const APPLICATION_READ_ALL = {
  id: "9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30",
  value: "Application.Read.All",
} as const;

/** Graph permissions that may read an application's credentials (graph/api/application-get). */
const READ_ROLES = new Set([
  APPLICATION_READ_ALL.value,
  "Application.ReadWrite.All",
  "Directory.Read.All",
  "Directory.ReadWrite.All",
]);

const APPLICATION_BY_APP_ID = /^\/v1\.0\/applications\(appId='([^']+)'\)$/;

export function isGraphApplicationPath(pathname: string): boolean {
  return APPLICATION_BY_APP_ID.test(decodeURIComponent(pathname));
}

/**
 * The slice of Microsoft Graph the credential-expiry probe reads: `GET /v1.0/applications(appId='...')`
 * with each secret's `hint` (its first three characters) and `endDateTime`, and each certificate's
 * `endDateTime`. The bearer token must be one this tenant issued for Graph, in Graph's own format
 * (the header's nonce hashed back before the signature is checked, as only Graph can), carrying an
 * application permission that reads applications; otherwise Graph's 401 or 403.
 */
export async function handleGraphApplicationRequest(
  url: URL,
  req: IncomingMessage,
  res: ServerResponse,
  ctx: EmulatorContext,
): Promise<void> {
  const appId = APPLICATION_BY_APP_ID.exec(decodeURIComponent(url.pathname))?.[1] ?? "";
  const token = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? "")?.[1];
  const model = ctx.model();
  const graphAudience = `https://${CLOUDS[model.cloud].graphHost}`;
  const claims = token === undefined ? undefined : await verifiedGraphClaims(token, ctx, graphAudience);
  if (claims === undefined) {
    return graphError(res, 401, "InvalidAuthenticationToken", "Access token validation failure. Invalid audience.");
  }
  const roles = Array.isArray(claims["roles"]) ? (claims["roles"] as unknown[]) : [];
  if (!roles.some((r) => typeof r === "string" && READ_ROLES.has(r))) {
    return graphError(res, 403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.");
  }
  const app = model.apps.find((a) => sameId(a.clientId, appId));
  if (!app)
    return graphError(
      res,
      404,
      "Request_ResourceNotFound",
      `Resource '${appId}' does not exist or one of its queried reference-property objects are not present.`,
    );
  sendJson(res, 200, {
    "@odata.context": `${ctx.origin}/v1.0/$metadata#applications(passwordCredentials,keyCredentials)/$entity`,
    passwordCredentials: app.secrets.map((s) => ({
      customKeyIdentifier: null,
      displayName: `sandbox secret ${s.id.slice(0, 8)}`,
      endDateTime: new Date(s.expiresAt).toISOString(),
      hint: s.value.slice(0, 3),
      keyId: s.id,
      secretText: null,
      startDateTime: null,
    })),
    keyCredentials: app.certificates.map((c) => {
      const cert = new X509Certificate(c.certPem);
      return {
        customKeyIdentifier: cert.fingerprint.replaceAll(":", ""),
        displayName: cert.subject.replaceAll("\n", ", "),
        endDateTime: new Date(cert.validTo).toISOString(),
        startDateTime: new Date(cert.validFrom).toISOString(),
        type: "AsymmetricX509Cert",
        usage: "Verify",
      };
    }),
  });
}

/** The claims of a Graph-format token this tenant signed for Graph and that has not expired; undefined otherwise. */
async function verifiedGraphClaims(
  token: string,
  ctx: EmulatorContext,
  audience: string,
): Promise<Record<string, unknown> | undefined> {
  try {
    const header = decodeProtectedHeader(token) as Record<string, unknown>;
    const nonce = header["nonce"];
    if (typeof nonce !== "string") return undefined;
    // The signature covers the header with the nonce's SHA-256 (access-token.ts firstPartyToken).
    const signedHeader = Buffer.from(
      JSON.stringify({ ...header, nonce: createHash("sha256").update(nonce).digest("hex") }),
    ).toString("base64url");
    const [, payload = "", signature = ""] = token.split(".");
    await compactVerify(`${signedHeader}.${payload}.${signature}`, createLocalJWKSet(await ctx.keys.jwks()));
    const claims = decodeJwt(token);
    if (claims.aud !== audience) return undefined;
    if (typeof claims.exp !== "number" || claims.exp * 1000 < ctx.now()) return undefined;
    return claims;
  } catch {
    return undefined;
  }
}

function graphError(res: ServerResponse, status: number, code: string, message: string): void {
  sendJson(res, status, {
    error: {
      code,
      message,
      innerError: { date: new Date().toISOString().slice(0, 19), "request-id": "00000000-0000-0000-0000-000000000000" },
    },
  });
}
