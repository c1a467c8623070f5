import type { TokenSummary } from "../results/types.js";
import type { ProbeConfig } from "../settings/types.js";
import type { PolicyChecks } from "./target-policy.js";

/**
 * A claim other than `aud` in which the wrong-audience token differs from the valid one: each is a
 * rule a gateway could have refused it on, whatever its audience rule.
 */
export type ClaimDifference = "token-format" | "roles" | "issuer" | "version" | "client" | "scp";

/** Why a wrong-audience refusal does not prove the audience rule, and what makes it prove it. */
export interface AudienceUnproven {
  /** Every claim besides `aud` that differs from the valid token's. */
  differences: readonly ClaimDifference[];
  reason: string;
  fix: string;
}

const OWN_APP_FIX =
  "Leave PROBE_WRONG_AUDIENCE_SCOPE unset: the probe's own app (<PROBE_CLIENT_ID>/.default) gives a tenant-signed token like the valid one.";

/**
 * Whether the wrong-audience token is, but for its `aud`, a token the gateway accepts, so that its
 * refusal proves the audience rule and nothing else.
 *
 * Every claim a policy can refuse on is compared with the valid token: roles (a policy that
 * requires the API's role refuses a token without it, whatever its audience), issuer, version,
 * the calling client (azp/appid) and scp. With the target's policy, its own verdict with the
 * audience rule set aside decides; without one, any difference leaves the refusal unproven.
 * Undefined when the refusal does prove the audience rule.
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
      differences: ["token-format"],
      reason: `its token (for ${config.wrongAudienceScope}) is in a Microsoft first-party format (a nonce in its header) that fails signature validation anywhere but its own resource, so any gateway that checks signatures refuses it whatever its aud rule`,
      fix: OWN_APP_FIX,
    };
  }
  const differences = valid ? claimDifferences(w, valid) : [];
  if (policy) {
    const verdict = await policy.preflightWithoutAudience(wrongAudience.token);
    // The policy names what it checks: when only its audience rule refuses the token, the refusal proves it.
    if (verdict?.ok) return undefined;
    if (verdict) {
      return {
        differences,
        reason: `with the audience rule set aside, the policy still refuses it (${verdict.reason}: ${verdict.detail})`,
        fix:
          verdict.reason === "TokenIssuerNotAllowed"
            ? versionFix(w, valid, config)
            : fixFor(differences, w, valid, config),
      };
    }
  }
  if (differences.length === 0) return undefined;
  return {
    differences,
    reason: `it differs from the valid token in more than its audience (${differences.map((d) => describe(d, w, valid)).join("; ")}), so the gateway may have refused it for that`,
    fix: fixFor(differences, w, valid, config),
  };
}

/** The claims besides `aud` in which `w` differs from `valid`; roles only when `w` lacks one of valid's. */
export function claimDifferences(w: TokenSummary, valid: TokenSummary): ClaimDifference[] {
  const out: ClaimDifference[] = [];
  const wRoles = new Set(w.roles ?? []);
  if ((valid.roles ?? []).some((role) => !wRoles.has(role))) out.push("roles");
  if (w.iss !== valid.iss) out.push("issuer");
  if (w.ver !== valid.ver) out.push("version");
  if (w.client !== valid.client) out.push("client");
  if (w.scp !== valid.scp) out.push("scp");
  return out;
}

function describe(difference: ClaimDifference, w: TokenSummary, valid: TokenSummary | undefined): string {
  switch (difference) {
    case "roles": {
      const missing = (valid?.roles ?? []).filter((r) => !(w.roles ?? []).includes(r));
      return `roles: it lacks ${missing.join(", ")}`;
    }
    case "issuer":
      return `issuer ${w.iss ?? "none"} vs ${valid?.iss ?? "none"}`;
    case "version":
      return `version ${w.ver ?? "none"} vs ${valid?.ver ?? "none"}`;
    case "client":
      return `client (azp/appid) ${w.client ?? "none"} vs ${valid?.client ?? "none"}`;
    case "scp":
      return `scp ${w.scp ?? "none"} vs ${valid?.scp ?? "none"}`;
    case "token-format":
      return "a first-party token format";
  }
}

/** The one-time setup that removes the first difference a fix exists for. */
function fixFor(
  differences: readonly ClaimDifference[],
  w: TokenSummary,
  valid: TokenSummary | undefined,
  config: ProbeConfig,
): string {
  if (differences.includes("issuer") || differences.includes("version")) return versionFix(w, valid, config);
  if (differences.includes("roles")) {
    const missing = (valid?.roles ?? []).filter((r) => !(w.roles ?? []).includes(r));
    const target = config.wrongAudienceIsOwnApp
      ? "the probe's own app registration"
      : `the app behind PROBE_WRONG_AUDIENCE_SCOPE (${config.wrongAudienceScope})`;
    return (
      `One-time setup: on ${target} define an app role with the value ${missing.join(", ")} (Entra admin center > App registrations > the app > App roles, allowed member types: Applications) ` +
      `and grant it to the probe's service principal (API permissions > Add a permission > My APIs > the app > Application permissions, then Grant admin consent; ` +
      `or Graph POST /servicePrincipals/{id}/appRoleAssignedTo): the wrong-audience token then carries the same roles and differs only in aud. The README's "Prove the audience rule" section has the commands.`
    );
  }
  return OWN_APP_FIX;
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
