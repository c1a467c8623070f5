import { isGuid, tokenVersionOf } from "../../entra/issuers.js";
import type { TokenSummary } from "../results/types.js";
import type { Expectations } from "./expectations.js";

/** One likely reason a gateway refused a token, with the token's evidence for it and its fix. */
export interface Hypothesis {
  /** Stable short name: `token-version`, `missing-role`, `audience-form`. */
  name: string;
  because: string;
  fix: string;
}

/**
 * When a gateway refuses `valid`'s token (401/403) and no policy names the rule, what the token
 * and the settings still say, most likely first. Each rests on an observed
 * claim; none is claimed as certain. These are the three mistakes the troubleshooting reports
 * that this product was built from spent the most time on:
 * - a v1 token (issuer `sts.windows.net`, `ver` 1.0) where the API's policy expects v2;
 * - no `roles` claim where the policy requires an app role (no permission, or no admin consent);
 * - the audience in the form the policy does not list (v2 tokens carry the client ID, v1 the App ID URI).
 */
export function refusalHypotheses(token: TokenSummary, expectations: Expectations | undefined): Hypothesis[] {
  const hypotheses: Hypothesis[] = [];
  const version = tokenVersionOf(token);
  if (version === 1) {
    hypotheses.push({
      name: "token-version",
      because: `the token is v1 (issuer ${token.iss ?? "unknown"}, ver ${token.ver ?? "?"}); a policy written for v2 (openid-config .../v2.0/..., issuer .../v2.0) refuses it`,
      fix: "In the API's app registration manifest set accessTokenAcceptedVersion to 2 (null means v1; takes a few minutes), then get a new token; or make the policy's openid-config URL and <issuers> v1.",
    });
  }
  if (token.roles === undefined || token.roles.length === 0) {
    hypotheses.push({
      name: "missing-role",
      because: `the token carries no roles claim${token.client ? ` for client ${token.client}` : ""}; a policy that requires an app role refuses it`,
      fix: "In the client's app registration add the API's application permission (app role) under API permissions and grant admin consent, then get a new token.",
    });
  }
  const aud = token.aud === undefined ? [] : Array.isArray(token.aud) ? token.aud : [token.aud];
  const requested = expectations?.audiences?.[0];
  if (aud.length > 0 && requested !== undefined) {
    if (version === 2 && aud.every(isGuid) && !isGuid(requested)) {
      hypotheses.push({
        name: "audience-form",
        because: `the v2 token's aud is the API's client ID ${aud.join(", ")}, not the App ID URI ${requested} it was requested for; a policy whose <audiences> lists only the App ID URI refuses it`,
        fix: `List both the API's client ID (${aud.join(", ")}) and its App ID URI (${requested}) in the policy's <audiences>.`,
      });
    } else if (version === 1 && !aud.every(isGuid)) {
      hypotheses.push({
        name: "audience-form",
        because: `the v1 token's aud is the App ID URI ${aud.join(", ")}; a policy whose <audiences> lists only the API's client ID refuses it`,
        fix: `List both the App ID URI (${aud.join(", ")}) and the API's client ID in the policy's <audiences>.`,
      });
    }
  }
  return hypotheses;
}
