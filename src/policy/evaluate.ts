import { decodeJwt, decodeProtectedHeader } from "jose";
import { checkAudience, checkClientApplication, checkIssuer, checkLifetime, checkRequiredClaims } from "./claims.js";
import type { OpenIdConfig, SigningKeyResolver } from "./openid-config.js";
import { checkSignature, resolveOpenIdConfigs } from "./signature.js";
import { extractToken } from "./token-extract.js";
import type { JwtFailureReason, JwtRequest, JwtValidationOutcome, ValidateJwtPolicy } from "./types.js";

export interface EvaluateDeps {
  keys: SigningKeyResolver;
  /** Milliseconds since the epoch. */
  now: () => number;
}

/** [A] validate-jwt: the default message "depends on validation issue, for example 'JWT not present.'". */
export const DEFAULT_MESSAGE_NOT_PRESENT = "JWT not present.";
/** Seen for the other failures (docs/REFERENCE.md §3, unconfirmed). */
export const DEFAULT_MESSAGE_INVALID = "Invalid JWT.";

/**
 * Evaluates a request against a validate-jwt policy, in the order Microsoft.IdentityModel validates:
 * presence and scheme, structure, signature, lifetime, audience, issuer, then required claims.
 * The first failure decides the reason. The outcome never contains the token.
 */
export async function evaluateValidateJwt(
  policy: ValidateJwtPolicy,
  request: JwtRequest,
  deps: EvaluateDeps,
): Promise<JwtValidationOutcome> {
  const fail = (reason: JwtFailureReason, detail: string): JwtValidationOutcome => ({
    ok: false,
    reason,
    detail,
    status: policy.failedValidationHttpCode,
    message:
      policy.failedValidationErrorMessage ??
      (reason === "TokenNotPresent" ? DEFAULT_MESSAGE_NOT_PRESENT : DEFAULT_MESSAGE_INVALID),
  });

  const extracted = extractToken(policy, request);
  if (!extracted.ok) return fail(extracted.reason, extracted.detail);
  const token = extracted.token;

  let header: Record<string, unknown>;
  let claims: Record<string, unknown>;
  try {
    if (token.split(".").length !== 3) throw new Error("not three segments");
    header = decodeProtectedHeader(token);
    claims = decodeJwt(token);
  } catch {
    return fail("JwtInvalid", "token is not a compact JWS (header.payload.signature)");
  }

  const unsigned = typeof header.alg === "string" && header.alg.toLowerCase() === "none";
  // Microsoft.IdentityModel: an unsigned token under RequireSignedTokens is a signature failure.
  if (unsigned && policy.requireSignedTokens) {
    return fail("TokenSignatureInvalid", "unsigned token (alg none) and require-signed-tokens is true");
  }
  // Resolved even for an accepted unsigned token: the openid-config issuers still apply to it.
  const kid = typeof header.kid === "string" ? header.kid : undefined;
  const resolved = await resolveOpenIdConfigs(policy, kid, deps.keys);
  if (!unsigned) {
    const signature = await checkSignature(policy, token, header, resolved);
    if (!signature.ok) {
      const also = claimFailures(policy, claims, deps.now(), resolved.configs);
      const outcome = fail(signature.reason, signature.detail);
      return also.length > 0 && !outcome.ok ? { ...outcome, alsoFailing: also } : outcome;
    }
  }
  return finish(fail, policy, header, claims, deps.now(), resolved.configs);
}

/** Every claim rule that fails, in validation order. */
function claimFailures(
  policy: ValidateJwtPolicy,
  claims: Record<string, unknown>,
  nowMs: number,
  configs: readonly OpenIdConfig[],
): { reason: JwtFailureReason; detail: string }[] {
  const failures: { reason: JwtFailureReason; detail: string }[] = [];
  for (const result of [
    checkLifetime(policy, claims, nowMs),
    checkAudience(policy, claims),
    checkIssuer(policy, claims, configs),
    checkRequiredClaims(policy, claims),
    checkClientApplication(policy, claims),
  ]) {
    if (!result.ok) failures.push({ reason: result.reason, detail: result.detail });
  }
  return failures;
}

function finish(
  fail: (reason: JwtFailureReason, detail: string) => JwtValidationOutcome,
  policy: ValidateJwtPolicy,
  header: Record<string, unknown>,
  claims: Record<string, unknown>,
  nowMs: number,
  configs: readonly OpenIdConfig[],
): JwtValidationOutcome {
  const [first, ...also] = claimFailures(policy, claims, nowMs, configs);
  if (first === undefined) return { ok: true, claims, header };
  const outcome = fail(first.reason, first.detail);
  return also.length > 0 && !outcome.ok ? { ...outcome, alsoFailing: also } : outcome;
}
