import type { ValidateJwtPolicy } from "../../policy/index.js";
import { CLOUDS, type CloudName } from "../../entra/clouds.js";
import { isGuid, isMultiTenantAlias, issuerFor, issuersInEveryCloud, openIdConfigShape } from "../../entra/issuers.js";

export interface ExpectedClaim {
  name: string;
  match: "all" | "any";
  values: readonly string[];
}

/** What a correct token looks like, from the target's policy or, failing that, from the settings. */
export interface Expectations {
  source: "policy" | "settings";
  /** Any of these. */
  audiences?: readonly string[];
  /** Any of these. */
  issuers?: readonly string[];
  /** The `roles` required claim. */
  roles?: ExpectedClaim;
  /** Other required claims (e.g. `azp`); checked only when the claim was observed. */
  claims?: readonly ExpectedClaim[];
  /**
   * Settings only know the resource as requested (`api://orders-api`), while v2 tokens carry the API's
   * client ID (docs/REFERENCE.md §1): a GUID audience on a v2 token then proves nothing either way.
   */
  audienceMayBeClientId?: boolean;
}

/**
 * Expectations from a parsed validate-jwt: `<audiences>` (or a required `aud` claim, as some policies
 * write it), `<issuers>`, else the issuers of its openid-config documents as fetched (what APIM
 * itself compares with), else what the URL's shape implies for a national cloud's host; required claims.
 * An openid-config on any other host, not fetched, implies no issuer: none is guessed.
 */
export function expectationsFromPolicy(
  policy: ValidateJwtPolicy,
  fetched: { configIssuers?: readonly string[] } = {},
): Expectations {
  const expectations: Expectations = { source: "policy" };
  const audClaim = policy.requiredClaims.find((claim) => claim.name === "aud" && claim.values.length > 0);
  const audiences = policy.audiences ?? audClaim?.values;
  if (audiences) expectations.audiences = audiences;
  const issuers =
    policy.issuers ??
    (fetched.configIssuers && fetched.configIssuers.length > 0
      ? fetched.configIssuers.filter((i) => !i.includes("{tenantid}"))
      : undefined) ??
    policy.openIdConfigUrls.flatMap((url) => {
      const shape = openIdConfigShape(url);
      // Multi-tenant documents (common, organizations) publish {tenantid}: no fixed issuer to compare.
      if (!shape || shape.cloud === undefined || isMultiTenantAlias(shape.tenant)) return [];
      return [issuerFor(shape.version, shape.tenant, CLOUDS[shape.cloud])];
    });
  if (issuers.length > 0) expectations.issuers = issuers;
  const roles = policy.requiredClaims.find((claim) => claim.name === "roles" && claim.values.length > 0);
  if (roles) expectations.roles = { name: roles.name, match: roles.match, values: roles.values };
  const others = policy.requiredClaims.filter((claim) => claim.name !== "roles" && claim.name !== "aud");
  if (others.length > 0)
    expectations.claims = others.map((claim) => ({ name: claim.name, match: claim.match, values: claim.values }));
  return expectations;
}

/**
 * Expectations from the settings: the audience is PROBE_API_SCOPE without `/.default`; the issuers
 * are the tenant's v1 and v2 issuers (either version is a legitimate registration choice): as its own
 * discovery documents name them when they were fetched, else its cloud's, else every national cloud's.
 * Without discovery they are known only when PROBE_TENANT_ID is a GUID (a domain name does not say
 * which tenant id tokens carry).
 */
export function expectationsFromSettings(settings: {
  scope?: string;
  tenantId?: string;
  cloud?: CloudName;
  tenantIssuers?: readonly string[];
}): Expectations {
  const expectations: Expectations = { source: "settings" };
  const resource = settings.scope?.endsWith("/.default") ? settings.scope.slice(0, -"/.default".length) : undefined;
  if (resource) {
    expectations.audiences = [resource];
    if (!isGuid(resource)) expectations.audienceMayBeClientId = true;
  }
  if (settings.tenantIssuers && settings.tenantIssuers.length > 0) {
    expectations.issuers = [...settings.tenantIssuers];
  } else if (settings.tenantId && isGuid(settings.tenantId)) {
    expectations.issuers = settings.cloud
      ? [
          issuerFor(1, settings.tenantId, CLOUDS[settings.cloud]),
          issuerFor(2, settings.tenantId, CLOUDS[settings.cloud]),
        ]
      : issuersInEveryCloud(settings.tenantId);
  }
  return expectations;
}
