import type { TokenSummary } from "../results/types.js";
import type { CauseCode } from "./catalogue.js";
import type { ExpectedClaim, Expectations } from "./expectations.js";
import { isGuid, issuerShape, tokenVersionOf } from "../../entra/issuers.js";

/** One way a token falls short of the expectations, with the observed values that show it. */
export interface TokenFinding {
  cause: CauseCode;
  /** A catalogue variant, e.g. `version` for a v1/v2 issuer mismatch. */
  variant?: string;
  evidence: Record<string, string>;
}

export interface ExplainOptions {
  /** When the token was (or is being) used, ms since the epoch. */
  at?: number;
  /** `kid`s the tenant publishes. */
  jwksKids?: readonly string[];
  /** The token's full claims, when the caller has the token (the diagnose command); else the summary is all. */
  claims?: Readonly<Record<string, unknown>>;
}

/**
 * Every mismatch between a decoded token and the expectations, in the order a validator checks
 * (lifetime, key, audience, issuer, roles, other claims). Each finding rests on an observed claim;
 * a check whose claim or expectation is unknown is skipped, not guessed.
 */
export function explainToken(
  token: TokenSummary,
  expectations: Expectations | undefined,
  options: ExplainOptions = {},
): TokenFinding[] {
  const findings: TokenFinding[] = [];
  const expired = checkExpiry(token, options.at);
  if (expired) findings.push(expired);
  if (options.jwksKids && token.kid !== undefined && !options.jwksKids.includes(token.kid)) {
    findings.push({ cause: "signing-key-unknown", evidence: { kid: token.kid, jwksKids: joinList(options.jwksKids) } });
  }
  if (!expectations) return findings;
  const audience = checkAudience(token, expectations);
  if (audience) findings.push(audience);
  const issuer = checkIssuer(token, expectations);
  if (issuer) findings.push(issuer);
  if (expectations.roles) {
    const roles = token.roles ?? stringsOf(options.claims?.roles);
    if (!satisfies(expectations.roles, roles)) {
      findings.push({
        cause: "missing-role",
        evidence: {
          expectedRole: expectations.roles.values.join(expectations.roles.match === "all" ? " and " : " or "),
          receivedRoles: roles && roles.length > 0 ? joinList(roles) : "none",
          ...(token.client ? { client: token.client } : {}),
        },
      });
    }
  }
  for (const claim of expectations.claims ?? []) {
    const observed = observedClaim(claim.name, token, options.claims);
    if (observed === "unobserved" || satisfies(claim, observed)) continue;
    findings.push({
      cause: "required-claim-missing",
      evidence: {
        claim: claim.name,
        expectedValues: claim.values.length > 0 ? joinList(claim.values) : "(present)",
        receivedValues: observed && observed.length > 0 ? joinList(observed) : "none",
        ...tokenVersionEvidence(token),
      },
    });
  }
  return findings;
}

function checkExpiry(token: TokenSummary, at: number | undefined): TokenFinding | undefined {
  if (token.exp === undefined || at === undefined) return undefined;
  const late = Math.floor(at / 1000 - token.exp);
  if (late <= 0) return undefined;
  return { cause: "token-expired", evidence: { exp: isoSeconds(token.exp), expiredForSeconds: String(late) } };
}

function checkAudience(token: TokenSummary, expectations: Expectations): TokenFinding | undefined {
  const expected = expectations.audiences;
  if (!expected || expected.length === 0) return undefined;
  const received = token.aud === undefined ? [] : Array.isArray(token.aud) ? token.aud : [token.aud];
  if (received.some((aud) => expected.includes(aud))) return undefined;
  // A v2 token names the API by client ID; settings may only know its App ID URI (docs/REFERENCE.md §1).
  const unverifiable =
    expectations.audienceMayBeClientId === true &&
    tokenVersionOf(token) === 2 &&
    received.length > 0 &&
    received.every(isGuid);
  if (unverifiable) return undefined;
  return {
    cause: "audience-mismatch",
    evidence: {
      expectedAudience: joinList(expected),
      receivedAudience: received.length > 0 ? joinList(received) : "none",
      expectedFrom: expectations.source,
      ...tokenVersionEvidence(token),
    },
  };
}

function checkIssuer(token: TokenSummary, expectations: Expectations): TokenFinding | undefined {
  const expected = expectations.issuers;
  if (!expected || expected.length === 0) return undefined;
  if (token.iss !== undefined && expected.includes(token.iss)) return undefined;
  const evidence: Record<string, string> = {
    expectedIssuer: joinList(expected),
    receivedIssuer: token.iss ?? "none",
    expectedFrom: expectations.source,
    ...tokenVersionEvidence(token),
  };
  const received = token.iss === undefined ? undefined : issuerShape(token.iss);
  const shapes = expected.map(issuerShape).filter((shape) => shape !== undefined);
  if (received && shapes.length > 0) {
    const sameTenant = shapes.filter((shape) => shape.tenant.toLowerCase() === received.tenant.toLowerCase());
    if (sameTenant.length > 0 && sameTenant.every((shape) => shape.version !== received.version)) {
      // The most commonly reported 401: v1 token (sts.windows.net) against a v2 policy, or the reverse.
      return {
        cause: "issuer-mismatch",
        variant: "version",
        evidence: {
          ...evidence,
          tokenVersion: String(received.version),
          expectedVersion: String(sameTenant[0]!.version),
        },
      };
    }
    if (sameTenant.length === 0) {
      return {
        cause: "issuer-mismatch",
        variant: "tenant",
        evidence: {
          ...evidence,
          receivedTenant: received.tenant,
          expectedTenant: joinList([...new Set(shapes.map((s) => s.tenant))]),
        },
      };
    }
  }
  return { cause: "issuer-mismatch", evidence };
}

/** The claim's values, `undefined` when observed absent, or "unobserved" when we cannot know. */
function observedClaim(
  name: string,
  token: TokenSummary,
  claims: Readonly<Record<string, unknown>> | undefined,
): string[] | undefined | "unobserved" {
  if (claims) return Object.hasOwn(claims, name) ? (stringsOf(claims[name]) ?? []) : undefined;
  const version = tokenVersionOf(token);
  // The summary's `client` is azp on v2 tokens and appid on v1 tokens; the other one is absent.
  if (name === "azp" && version !== undefined) return version === 2 && token.client ? [token.client] : undefined;
  if (name === "appid" && version !== undefined) return version === 1 && token.client ? [token.client] : undefined;
  if (name === "aud") return token.aud === undefined ? undefined : Array.isArray(token.aud) ? token.aud : [token.aud];
  if (name === "iss") return token.iss === undefined ? undefined : [token.iss];
  if (name === "ver") return token.ver === undefined ? undefined : [token.ver];
  return "unobserved";
}

function satisfies(claim: ExpectedClaim, received: readonly string[] | undefined): boolean {
  if (received === undefined) return false;
  if (claim.values.length === 0) return true;
  return claim.match === "all"
    ? claim.values.every((v) => received.includes(v))
    : claim.values.some((v) => received.includes(v));
}

function stringsOf(value: unknown): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  const items = Array.isArray(value) ? (value as unknown[]) : [value];
  return items.map((item) => (typeof item === "string" ? item : JSON.stringify(item)));
}

function tokenVersionEvidence(token: TokenSummary): Record<string, string> {
  const version = tokenVersionOf(token);
  return version === undefined ? {} : { tokenVersion: String(version) };
}

/** Lists in evidence: at most 10 items, each at most 128 characters (values come from outside). */
export function joinList(values: readonly string[]): string {
  const shown = values.slice(0, 10).map((v) => (v.length > 128 ? `${v.slice(0, 128)}...` : v));
  return shown.join(", ") + (values.length > 10 ? ", ..." : "");
}

export function isoSeconds(seconds: number): string {
  const date = new Date(seconds * 1000);
  return Number.isNaN(date.getTime()) ? String(seconds) : date.toISOString();
}
