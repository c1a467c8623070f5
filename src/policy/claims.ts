import type { OpenIdConfig } from "./openid-config.js";
import type { JwtFailureReason, RequiredClaim, ValidateJwtPolicy } from "./types.js";

export type ClaimCheck = { ok: true } | { ok: false; reason: JwtFailureReason; detail: string };

type Claims = Readonly<Record<string, unknown>>;

const OK: ClaimCheck = { ok: true };

/**
 * exp and nbf with `clock-skew` (default 0 s, docs/REFERENCE.md §3). exp is required unless
 * `require-expiration-time="false"` ([A] usage notes). A missing exp and a not-yet-valid nbf have no
 * documented reason of their own; both are reported as JwtInvalid (unconfirmed).
 */
export function checkLifetime(policy: ValidateJwtPolicy, claims: Claims, nowMs: number): ClaimCheck {
  const now = nowMs / 1000;
  const skew = policy.clockSkewSeconds;
  const { exp, nbf } = claims;
  if (exp === undefined) {
    return policy.requireExpirationTime
      ? { ok: false, reason: "JwtInvalid", detail: "exp missing and require-expiration-time is true" }
      : OK;
  }
  if (typeof exp !== "number") return { ok: false, reason: "JwtInvalid", detail: "exp is not a number" };
  if (now > exp + skew) {
    return {
      ok: false,
      reason: "TokenExpired",
      detail: `exp ${iso(exp)} is ${Math.floor(now - exp)} s before now (clock-skew ${skew} s)`,
    };
  }
  if (nbf !== undefined) {
    if (typeof nbf !== "number") return { ok: false, reason: "JwtInvalid", detail: "nbf is not a number" };
    if (now < nbf - skew) {
      return { ok: false, reason: "JwtInvalid", detail: `nbf ${iso(nbf)} is in the future (clock-skew ${skew} s)` };
    }
  }
  return OK;
}

/** `<audiences>`: any-of, exact string match; no `<audiences>` means no audience check. */
export function checkAudience(policy: ValidateJwtPolicy, claims: Claims): ClaimCheck {
  if (policy.audiences === undefined) return OK;
  const received = valuesOf(claims.aud);
  if (received.some((aud) => policy.audiences!.includes(aud))) return OK;
  return {
    ok: false,
    reason: "TokenAudienceNotAllowed",
    detail: `audience expected ${list(policy.audiences)} received ${received.length === 0 ? "none" : list(received)}`,
  };
}

/**
 * `<issuers>` when listed; otherwise the issuers of the openid-config documents ([A]: openid-config is
 * the endpoint "from which signing keys and issuer can be obtained"). Whether APIM also accepts the
 * openid-config issuer when `<issuers>` is listed is not documented; we treat an explicit list as the
 * whole truth. Exact match, so a v1 token (`https://sts.windows.net/{tid}/`) fails a v2 openid-config
 * (`https://login.microsoftonline.com/{tid}/v2.0`) and the reverse (docs/REFERENCE.md §1).
 * Entra's multi-tenant documents publish `{tenantid}` in the issuer; it stands for the token's `tid`.
 */
export function checkIssuer(policy: ValidateJwtPolicy, claims: Claims, configs: readonly OpenIdConfig[]): ClaimCheck {
  const allowed = policy.issuers ?? configs.map((config) => config.issuer);
  if (allowed.length === 0) return OK;
  const iss = typeof claims.iss === "string" ? claims.iss : undefined;
  const tid = typeof claims.tid === "string" ? claims.tid : undefined;
  const expanded = allowed.map((issuer) => (tid === undefined ? issuer : issuer.replace("{tenantid}", tid)));
  if (iss !== undefined && expanded.includes(iss)) return OK;
  return {
    ok: false,
    reason: "TokenIssuerNotAllowed",
    detail: `issuer expected ${list(expanded)} received ${iss === undefined ? "none" : short(iss)}`,
  };
}

/** `<required-claims>`: every claim must be present; its values matched per `match` (default all). */
export function checkRequiredClaims(policy: ValidateJwtPolicy, claims: Claims): ClaimCheck {
  for (const required of policy.requiredClaims) {
    const result = checkRequiredClaim(required, claims);
    if (!result.ok) return result;
  }
  return OK;
}

function checkRequiredClaim(required: RequiredClaim, claims: Claims): ClaimCheck {
  const raw = Object.hasOwn(claims, required.name) ? claims[required.name] : undefined;
  if (raw === undefined || raw === null) {
    return { ok: false, reason: "TokenClaimNotFound", detail: `claim ${required.name} missing` };
  }
  if (required.values.length === 0) return OK;
  const received = valuesOf(raw, required.separator);
  const present = (value: string) => received.includes(value);
  const matched = required.match === "all" ? required.values.every(present) : required.values.some(present);
  if (matched) return OK;
  return {
    ok: false,
    reason: "TokenClaimValueNotAllowed",
    detail: `claim ${required.name} match ${required.match} expected ${list(required.values)} received ${list(received)}`,
  };
}

/** A claim as a list of strings: arrays element-wise, strings split on the separator if any. */
function valuesOf(raw: unknown, separator?: string): string[] {
  const items = Array.isArray(raw) ? (raw as unknown[]) : raw === undefined || raw === null ? [] : [raw];
  return items.flatMap((item) => {
    const text = typeof item === "string" ? item : JSON.stringify(item);
    return separator === undefined ? [text] : text.split(separator).map((part) => part.trim());
  });
}

function list(values: readonly string[]): string {
  const shown = values.slice(0, 10).map(short);
  return `[${shown.join(", ")}${values.length > 10 ? ", ..." : ""}]`;
}

function short(value: string): string {
  return value.length > 128 ? `${value.slice(0, 128)}...` : value;
}

/** Unix seconds as ISO time; numbers outside Date's range are shown raw rather than thrown on. */
function iso(seconds: number): string {
  const date = new Date(seconds * 1000);
  return Number.isNaN(date.getTime()) ? String(seconds) : date.toISOString();
}

/**
 * validate-azure-ad-token's `client-application-ids`: the token's caller, `azp` in v2 tokens and
 * `appid` in v1 tokens (docs/REFERENCE.md §1), must be one of them. APIM's reason for this refusal is not
 * documented; TokenClaimValueNotAllowed with the rule named in the detail.
 */
export function checkClientApplication(policy: ValidateJwtPolicy, claims: Claims): ClaimCheck {
  const allowed = policy.clientApplicationIds;
  if (allowed === undefined) return OK;
  const caller =
    typeof claims.azp === "string" ? claims.azp : typeof claims.appid === "string" ? claims.appid : undefined;
  if (caller !== undefined && allowed.some((id) => id.toLowerCase() === caller.toLowerCase())) return OK;
  return {
    ok: false,
    reason: "TokenClaimValueNotAllowed",
    detail: `client-application-ids expected ${list(allowed)} received ${caller === undefined ? "none" : short(caller)}`,
  };
}
