import { createHash, randomBytes } from "node:crypto";
import { SignJWT } from "jose";
import type { CloudName } from "../../entra/clouds.js";
import { v1Issuer, v2Issuer } from "./issuers.js";
import type { AppRegistration, TenantModel } from "./model.js";
import { normaliseResource, sameId } from "./model.js";
import type { SigningKey } from "./signing-keys.js";

export type TokenVersion = "1.0" | "2.0";

/** The caller of an app-only token: an app's service principal or a managed identity. */
export interface TokenCaller {
  clientId: string;
  /** Service-principal object id: `oid` and `sub` (docs/REFERENCE.md §1). */
  objectId: string;
  /** `appidacr`/`azpacr`: "1" secret, "2" certificate or assertion. */
  acr: "0" | "1" | "2";
}

export interface IssuedToken {
  accessToken: string;
  version: TokenVersion;
  aud: string;
  /** Unix seconds. */
  iat: number;
  exp: number;
}

/**
 * Resource lookup as Entra does it: by App ID URI (case-insensitive, trailing slash ignored) or by the
 * application's client-id GUID. Returns the app and which form the request used.
 */
export function findResource(
  model: TenantModel,
  resource: string,
): { app: AppRegistration; byUri: boolean } | undefined {
  const key = normaliseResource(resource);
  for (const app of model.apps) {
    if (app.appIdUri !== undefined && normaliseResource(app.appIdUri) === key) return { app, byUri: true };
    if (sameId(app.clientId, resource)) return { app, byUri: false };
  }
  return undefined;
}

/** Role values assigned to `clientId` on `resource`; empty when none. */
export function assignedRoles(model: TenantModel, clientId: string, resource: AppRegistration): string[] {
  return model.roleAssignments
    .filter((ra) => sameId(ra.clientId, clientId) && sameId(ra.resourceClientId, resource.clientId))
    .map((ra) => resource.appRoles.find((r) => sameId(r.id, ra.roleId))?.value)
    .filter((v): v is string => v !== undefined);
}

/**
 * The token version is the RESOURCE's choice (accessTokenAcceptedVersion), not the endpoint's
 * (docs/REFERENCE.md §1). v1 `aud` is the identifier the request used (App ID URI, else GUID); v2 `aud` is the GUID.
 */
export function audienceFor(resource: AppRegistration, byUri: boolean): { version: TokenVersion; aud: string } {
  if (resource.accessTokenAcceptedVersion === 2) return { version: "2.0", aud: resource.clientId };
  return { version: "1.0", aud: byUri && resource.appIdUri !== undefined ? resource.appIdUri : resource.clientId };
}

function opaque(bytes: number): string {
  return randomBytes(bytes).toString("base64url");
}

/**
 * An app-only access token with the claims of docs/REFERENCE.md §1, in Entra's claim order. `roles` is present
 * only when non-empty (absent, not empty, when the caller has none). iat = nbf = now (Entra may
 * back-date them; unconfirmed, so not done here); exp = now + lifetime.
 */
export async function signAccessToken(params: {
  tenantId: string;
  cloud: CloudName;
  caller: TokenCaller;
  version: TokenVersion;
  aud: string;
  roles: readonly string[];
  nowMs: number;
  lifetimeSeconds: number;
  key: SigningKey;
  /** The resource's first-party format (Graph's): see AppRegistration.firstPartyTokenFormat. */
  firstPartyFormat?: boolean;
}): Promise<IssuedToken> {
  const { tenantId, caller, version, aud, roles, key } = params;
  const iat = Math.floor(params.nowMs / 1000);
  const exp = iat + params.lifetimeSeconds;
  const iss = version === "1.0" ? v1Issuer(tenantId, params.cloud) : v2Issuer(tenantId, params.cloud);
  const claims: Record<string, unknown> = { aud, iss, iat, nbf: iat, exp, aio: opaque(48) };
  if (version === "1.0") {
    Object.assign(claims, { appid: caller.clientId, appidacr: caller.acr, idp: iss });
  } else {
    Object.assign(claims, { azp: caller.clientId, azpacr: caller.acr });
  }
  Object.assign(claims, { idtyp: "app", oid: caller.objectId, rh: `1.A${opaque(60)}.` });
  if (roles.length > 0) claims["roles"] = [...roles];
  Object.assign(claims, { sub: caller.objectId, tid: tenantId, uti: opaque(16), ver: version });

  const header = { typ: "JWT", alg: "RS256", ...(version === "1.0" ? { x5t: key.x5t } : {}), kid: key.kid };
  if (params.firstPartyFormat)
    return { accessToken: await firstPartyToken(claims, header, key), version, aud, iat, exp };
  const accessToken = await new SignJWT(claims).setProtectedHeader(header).sign(key.privateKey);
  return { accessToken, version, aud, iat, exp };
}

/**
 * Graph's token format as observed (identitymodel-extensions #609): the header carries a `nonce`,
 * and the signature covers a header holding the nonce's SHA-256 instead, so validating the token
 * as it is, with the tenant's published key, fails. Only the resource knows to hash the nonce back.
 */
async function firstPartyToken(
  claims: Record<string, unknown>,
  header: Record<string, string>,
  key: SigningKey,
): Promise<string> {
  const nonce = opaque(32);
  const signed = await new SignJWT(claims)
    .setProtectedHeader({ ...header, nonce: createHash("sha256").update(nonce).digest("hex") } as never)
    .sign(key.privateKey);
  const [, payload, signature] = signed.split(".");
  return `${Buffer.from(JSON.stringify({ ...header, nonce })).toString("base64url")}.${payload}.${signature}`;
}
