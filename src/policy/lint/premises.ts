import { cloudForIssuerHost } from "../../entra/clouds.js";
import { isGuid, isMultiTenantAlias, issuerShape, openIdConfigShape, type IssuerShape } from "../../entra/issuers.js";
import type { ApimPolicy, CheckInput, ValidateJwtPolicy } from "../types.js";

/**
 * The premises the Entra-specific rules rest on, read from the check itself: whether its tokens
 * are Entra ID's (workforce or external tenants), whether an audience is an app registration's
 * (a client ID, an `api://` or a custom App ID URI) or a Microsoft first-party resource's, and what
 * already restricts the caller.
 */

/**
 * Resource audiences of Microsoft's own services (their App ID URIs, learn.microsoft.com "Azure
 * services that support Microsoft Entra authentication"): a token for them is what any user or app
 * of any tenant can obtain, and their apps have no client ID or app role of the API's owner.
 */
const FIRST_PARTY_HOSTS = new Set([
  "management.azure.com",
  "management.core.windows.net",
  "management.usgovcloudapi.net",
  "management.chinacloudapi.cn",
  "graph.microsoft.com",
  "graph.windows.net",
  "cognitiveservices.azure.com",
  "ai.azure.com",
  "ml.azure.com",
  "storage.azure.com",
  "vault.azure.net",
  "database.windows.net",
  "servicebus.azure.net",
  "eventhubs.azure.net",
  "monitor.azure.com",
  "api.loganalytics.io",
  "azure-api.net",
  "analysis.windows.net",
  "outlook.office.com",
]);

export type AudienceKind = "app-registration" | "first-party";

export function audienceKind(audience: string): AudienceKind {
  if (isGuid(audience) || audience.toLowerCase().startsWith("api://")) return "app-registration";
  try {
    const host = new URL(audience).hostname.toLowerCase();
    return FIRST_PARTY_HOSTS.has(host) ? "first-party" : "app-registration";
  } catch {
    return "app-registration";
  }
}

/** A URL or issuer as written, its named values replaced by a placeholder so its shape can be read. */
function shapeable(written: string): string {
  return written.replace(/\{\{[^{}]+\}\}/g, UNKNOWN_TENANT);
}

/** Stands for a named value in a URL or issuer: its shape is read, its tenant is unknown. */
export const UNKNOWN_TENANT = "named-value";

function isEntraHost(host: string): boolean {
  const h = host.toLowerCase();
  return cloudForIssuerHost(h) !== undefined || h.endsWith(".ciamlogin.com");
}

/** Entra ID's metadata URL shape on an Entra host (B2C's `tfp/{tenant}/{policy}` paths are not). */
export function entraOpenIdConfig(url: string): IssuerShape | undefined {
  const shape = openIdConfigShape(shapeable(url));
  if (!shape) return undefined;
  return isEntraHost(new URL(shapeable(url)).hostname) ? shape : undefined;
}

export function entraIssuer(issuer: string): IssuerShape | undefined {
  const shape = issuerShape(shapeable(issuer));
  if (!shape) return undefined;
  try {
    return isEntraHost(new URL(shapeable(issuer)).hostname) ? shape : undefined;
  } catch {
    return undefined;
  }
}

const written = (check: ValidateJwtPolicy, input: CheckInput) =>
  check.unresolvedInputs.filter((u) => u.input === input).map((u) => u.written);

/**
 * Why this check validates Entra ID tokens, or undefined when nothing says so (another token
 * service, B2C, a shared secret): the Entra rules then do not apply.
 */
export function entraPremise(check: ValidateJwtPolicy): string | undefined {
  if (check.element === "validate-azure-ad-token") return "validate-azure-ad-token (Entra ID tokens only)";
  const config = [...check.openIdConfigUrls, ...written(check, "openid-config")].find(
    (u) => entraOpenIdConfig(u) !== undefined,
  );
  if (config !== undefined) return `Entra ID issuer (openid-config ${config})`;
  const issuer = [...(check.issuers ?? []), ...written(check, "issuers")].find((i) => entraIssuer(i) !== undefined);
  return issuer === undefined ? undefined : `Entra ID issuer (${issuer})`;
}

/** The Entra issuer shapes (version, tenant) the check accepts: its `<issuers>` when listed, else its metadata. */
export function acceptedEntraShapes(check: ValidateJwtPolicy): {
  shapes: IssuerShape[];
  from: "issuers" | "openid-config";
} {
  // An issuer written with a named value still shows its version: https://sts.windows.net/{{tenant}}/ is v1.
  const issuers = [...(check.issuers ?? []), ...written(check, "issuers")];
  if (issuers.length > 0) return { shapes: issuers.map(entraIssuer).filter((s) => s !== undefined), from: "issuers" };
  return {
    shapes: [...check.openIdConfigUrls, ...written(check, "openid-config")]
      .map(entraOpenIdConfig)
      .filter((s) => s !== undefined),
    from: "openid-config",
  };
}

/** The token version the check accepts, when its issuers (or metadata) name exactly one. */
export function acceptedVersion(check: ValidateJwtPolicy): 1 | 2 | undefined {
  const versions = new Set(acceptedEntraShapes(check).shapes.map((s) => s.version));
  return versions.size === 1 ? [...versions][0] : undefined;
}

/** Multi-tenant metadata (`common`, `organizations`, `consumers`) the check takes its keys (and issuer) from. */
export function multiTenantConfig(check: ValidateJwtPolicy): string | undefined {
  return check.openIdConfigUrls.find((u) => {
    const shape = entraOpenIdConfig(u);
    return shape !== undefined && isMultiTenantAlias(shape.tenant);
  });
}

/** Claims that name who calls: requiring one of their values restricts the caller. */
const CALLER_CLAIMS = ["roles", "azp", "appid", "groups", "scp", "oid", "sub", "wids"];

/**
 * What already restricts the caller beyond "has a token for this audience": client-application-ids,
 * a required caller claim with values, or a `<choose>` condition reading a caller claim.
 */
export function callerRestriction(check: ValidateJwtPolicy, policy: ApimPolicy): string | undefined {
  if (
    check.clientApplicationIds !== undefined ||
    check.unresolvedInputs.some((u) => u.input === "client-application-ids")
  )
    return "client-application-ids";
  const required = check.requiredClaims.find((c) => CALLER_CLAIMS.includes(c.name) && c.values.length > 0);
  if (required) return `required claim ${required.name}`;
  const inCondition = policy.claimsCheckedInConditions.find((c) => CALLER_CLAIMS.includes(c));
  return inCondition === undefined ? undefined : `a <choose> condition reading the ${inCondition} claim`;
}

/** Whether a required claim or a `<choose>` condition pins the tenant (`tid` or `iss`). */
export function tenantRestriction(check: ValidateJwtPolicy, policy: ApimPolicy): boolean {
  return (
    check.requiredClaims.some((c) => (c.name === "tid" || c.name === "iss") && c.values.length > 0) ||
    policy.claimsCheckedInConditions.some((c) => c === "tid" || c === "iss")
  );
}
