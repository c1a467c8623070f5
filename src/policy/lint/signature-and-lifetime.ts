// Findings about how a token's signature and lifetime are checked: unsigned tokens, no key, no
// expiry, a large clock skew, and Entra keys pinned in the policy.
import type { ValidateJwtPolicy } from "../types.js";
import type { NotJudged } from "./not-judged.js";
import type { Draft } from "./rule.js";

/** [A] validate-jwt: clock-skew defaults to 0 s; more than 5 minutes keeps stolen or stale tokens alive. */
export const MAX_CLOCK_SKEW_SECONDS = 300;

export function lintSignatureAndLifetime(jwt: ValidateJwtPolicy, notJudged: NotJudged): Draft[] {
  const findings: Draft[] = [];
  if (!jwt.requireSignedTokens) {
    findings.push({
      code: "unsigned-tokens-allowed",
      severity: "error",
      element: "validate-jwt/@require-signed-tokens",
      message: 'require-signed-tokens="false": unsigned tokens (alg none) are accepted, so anyone can mint one',
      fix: "Remove require-signed-tokens (default true).",
    });
  } else if (
    jwt.openIdConfigUrls.length === 0 &&
    jwt.issuerSigningKeys.length === 0 &&
    notJudged.visible("no-signing-keys", "openid-config", "signing-keys")
  ) {
    findings.push({
      code: "no-signing-keys",
      severity: "error",
      element: "validate-jwt",
      message: "neither openid-config nor issuer-signing-keys: no key can verify a token, so every call is refused",
      fix: 'Add <openid-config url="https://login.microsoftonline.com/{tenant}/v2.0/.well-known/openid-configuration" />.',
    });
  }
  if (!jwt.requireExpirationTime) {
    findings.push({
      code: "expiration-not-required",
      severity: "error",
      element: "validate-jwt/@require-expiration-time",
      message: 'require-expiration-time="false": a token without exp never expires',
      fix: "Remove require-expiration-time (default true).",
    });
  }
  if (jwt.clockSkewSeconds > MAX_CLOCK_SKEW_SECONDS) {
    findings.push({
      code: "large-clock-skew",
      severity: "warning",
      element: "validate-jwt/@clock-skew",
      message: `clock-skew ${jwt.clockSkewSeconds} s: expired tokens stay accepted that long (more than ${MAX_CLOCK_SKEW_SECONDS} s)`,
      fix: `Set clock-skew to at most ${MAX_CLOCK_SKEW_SECONDS} s (default 0); fix clocks, not the policy.`,
    });
  }
  return findings;
}

/** RSA keys written into a policy whose tokens are Entra's. */
export function pinnedKeyFindings(check: ValidateJwtPolicy, entra: string | undefined): Draft[] {
  const extra: Draft[] = [];
  // Entra rolls its signing keys over (learn.microsoft.com/entra/identity-platform/signing-key-rollover);
  // a key copied into the policy stops verifying then. Another token service's pinned key is its own business.
  const pinned = check.issuerSigningKeys.filter((k) => k.kind === "rsa");
  if (pinned.length > 0 && entra !== undefined) {
    extra.push({
      code: "signing-keys-pinned",
      severity: "warning",
      element: `${check.element}/issuer-signing-keys`,
      message: `${pinned.length} RSA key(s) pinned in the policy: when Entra rolls its signing keys over, tokens signed with the new key are refused`,
      fix: "Take Entra's keys from <openid-config> (APIM refreshes them hourly and on an unknown kid) and remove the pinned keys.",
      premise: entra,
    });
  }
  return extra;
}
