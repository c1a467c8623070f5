import type { TokenSummary } from "../results/types.js";
import type { ProbeConfig } from "../settings/types.js";
import type { PolicyChecks } from "./target-policy.js";

/** Why a wrong-audience refusal does not prove the audience rule, and what makes it prove it. */
export interface AudienceUnproven {
  reason: string;
  fix: string;
}

const OWN_APP_FIX = "Leave PROBE_WRONG_AUDIENCE_SCOPE unset: the probe's own app (<PROBE_CLIENT_ID>/.default) gives a tenant-signed token like the valid one.";

/**
 * Whether the wrong-audience token is otherwise a token the gateway accepts (signature, issuer,
 * lifetime, required claims), so that its refusal proves the `aud` check and nothing else (issue 11).
 * With the target's policy: the policy's own verdict with the audience rules set aside. Without it:
 * the token against the valid one (same issuer and version, not a first-party format).
 * Undefined when the refusal does prove the audience rule, or when nothing can be said.
 */
export async function audienceIsolation(
  wrongAudience: { token: string; summary: TokenSummary | undefined },
  valid: TokenSummary | undefined,
  config: ProbeConfig,
  policy: PolicyChecks | undefined,
): Promise<AudienceUnproven | undefined> {
  const w = wrongAudience.summary;
  if (!w) return undefined;
  if (w.firstParty) {
    return {
      reason: `its token (for ${config.wrongAudienceScope}) is in a Microsoft first-party format (a nonce in its header) that fails signature validation anywhere but its own resource, so any gateway that checks signatures refuses it whatever its aud rule`,
      fix: OWN_APP_FIX,
    };
  }
  if (policy) {
    const verdict = await policy.preflightWithoutAudience(wrongAudience.token);
    if (!verdict || verdict.ok) return undefined;
    return {
      reason: `with the audience rule set aside, the policy still refuses it (${verdict.reason}: ${verdict.detail})`,
      fix: verdict.reason === "TokenIssuerNotAllowed" ? versionFix(w, valid, config) : OWN_APP_FIX,
    };
  }
  if (valid?.iss !== undefined && w.iss !== undefined && valid.iss !== w.iss) {
    return { reason: `its issuer ${w.iss} is not the valid token's (${valid.iss}), so the issuer check may be what refused it`, fix: versionFix(w, valid, config) };
  }
  return undefined;
}

function versionFix(w: TokenSummary, valid: TokenSummary | undefined, config: ProbeConfig): string {
  if (valid?.ver !== undefined && w.ver !== undefined && valid.ver !== w.ver) {
    const version = valid.ver === "2.0" ? 2 : 1;
    return config.wrongAudienceIsOwnApp
      ? `The probe's own app registration issues v${w.ver === "2.0" ? 2 : 1} tokens and the API v${version}: set accessTokenAcceptedVersion to ${version} in the probe app's manifest, so its tokens carry the API's issuer and differ only in aud.`
      : `Set PROBE_WRONG_AUDIENCE_SCOPE to an API of this tenant that issues v${version} tokens, like the API under test.`;
  }
  return "Set PROBE_WRONG_AUDIENCE_SCOPE to an API of the same tenant and token version as the API under test.";
}
