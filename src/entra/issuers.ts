import { CLOUDS, cloudForIssuerHost, type CloudName, type EntraCloud } from "./clouds.js";

/**
 * Entra issuer and metadata URL shapes (docs/REFERENCE.md §1 and §7). A v1 token's issuer is
 * `https://{v1 host}/{tid}/`, a v2 token's `https://{v2 host}/{tid}/v2.0`, where the hosts depend on
 * the cloud; the v1 metadata document is `/{tid}/.well-known/openid-configuration`, the v2 one
 * `/{tid}/v2.0/.well-known/openid-configuration`. Shapes are recognised on any host, so an issuer
 * named by a tenant's own discovery document (another cloud, an emulator) reads the same way.
 */
export type TokenVersion = 1 | 2;

export interface IssuerShape {
  version: TokenVersion;
  tenant: string;
  /** The national cloud the issuer's host belongs to, when it is one of them. */
  cloud?: CloudName;
}

const V2_ISSUER = /^https:\/\/([^/]+)\/([^/]+)\/v2\.0\/?$/i;
const V1_ISSUER = /^https:\/\/([^/]+)\/([^/]+)\/$/i;

/** The version, tenant and cloud an Entra-shaped issuer names, or undefined for any other issuer. */
export function issuerShape(issuer: string): IssuerShape | undefined {
  const v2 = V2_ISSUER.exec(issuer);
  const v1 = v2 ? undefined : V1_ISSUER.exec(issuer);
  const match = v2 ?? v1;
  if (!match) return undefined;
  const cloud = cloudForIssuerHost(match[1]!)?.name;
  return { version: v2 ? 2 : 1, tenant: match[2]!, ...(cloud ? { cloud } : {}) };
}

export function issuerFor(version: TokenVersion, tenant: string, cloud: EntraCloud = CLOUDS.public): string {
  return version === 1 ? `https://${cloud.v1IssuerHost}/${tenant}/` : `https://${cloud.v2IssuerHost}/${tenant}/v2.0`;
}

/** Both issuers of a tenant in every national cloud: what offline tools accept when the cloud is unknown. */
export function issuersInEveryCloud(tenant: string): string[] {
  return [
    ...new Set(Object.values(CLOUDS).flatMap((cloud) => [issuerFor(1, tenant, cloud), issuerFor(2, tenant, cloud)])),
  ];
}

/**
 * The version, tenant and cloud of an Entra openid-config URL (any host: the sandbox serves them on
 * loopback), or undefined when it is not one. `cloud` is set only for a national cloud's host.
 */
export function openIdConfigShape(url: string): IssuerShape | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  const match = /^\/([^/]+)(\/v2\.0)?\/\.well-known\/openid-configuration$/i.exec(parsed.pathname);
  if (!match) return undefined;
  const cloud = cloudForIssuerHost(parsed.hostname)?.name;
  return { version: match[2] ? 2 : 1, tenant: match[1]!, ...(cloud ? { cloud } : {}) };
}

/** `ver` claim ("1.0"/"2.0") as a version, falling back to the issuer's shape. */
export function tokenVersionOf(token: { ver?: string; iss?: string }): TokenVersion | undefined {
  if (token.ver === "1.0") return 1;
  if (token.ver === "2.0") return 2;
  return token.iss ? issuerShape(token.iss)?.version : undefined;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isGuid(value: string): boolean {
  return GUID.test(value);
}

/** Tenants whose documents stand for many tenants: their issuer carries `{tenantid}`, no fixed value. */
export function isMultiTenantAlias(tenant: string): boolean {
  return ["common", "organizations", "consumers"].includes(tenant.toLowerCase());
}
