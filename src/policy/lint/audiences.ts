// Findings about the audience: none checked, or an app registration's audience missing the client ID
// or App ID URI that its tokens carry.
import { isGuid } from "../../entra/issuers.js";
import type { ValidateJwtPolicy } from "../types.js";
import type { LintFinding } from "./findings.js";
import type { NotJudged } from "./not-judged.js";
import { acceptedVersion, audienceKind, callerRestriction } from "./premises.js";
import type { Draft, Surroundings } from "./rule.js";

export function lintAudiences(
  jwt: ValidateJwtPolicy,
  around: Surroundings,
  entra: string | undefined,
  notJudged: NotJudged,
): Draft[] {
  const { context } = around;
  const audClaim = jwt.requiredClaims.find((c) => c.name === "aud" && c.values.length > 0);
  const audiences = jwt.audiences ?? audClaim?.values;
  const element = jwt.audiences ? "validate-jwt/audiences" : "validate-jwt/required-claims/claim[@name=aud]";
  if (!audiences) {
    if (!notJudged.visible("no-audience-check", "audiences")) return [];
    const restricted = callerRestriction(jwt, around.policy);
    return [
      {
        code: "no-audience-check",
        // An error where any app of an Entra tenant gets in; a warning where the caller is pinned
        // (only that caller's tokens for other resources pass) or the issuer is not a shared one.
        // With only inline keys of another issuer, whoever holds the key mints the tokens: info.
        severity:
          entra !== undefined
            ? restricted === undefined
              ? "error"
              : "warning"
            : jwt.openIdConfigUrls.length > 0
              ? "warning"
              : "info",
        element: "validate-jwt",
        message:
          entra !== undefined
            ? `no <audiences>: a token the tenant issued for any other API (e.g. Microsoft Graph) is accepted${restricted ? `, from the callers ${restricted} allows` : ""}`
            : "no <audiences>: a token its issuer minted for another audience is accepted as well",
        fix: "Add <audiences> with the API's audience (for an Entra app registration: its App ID URI and client ID).",
        ...(entra ? { premise: entra } : {}),
      },
    ];
  }
  // The "v2 carries the client ID, v1 the App ID URI" rule is Entra's, for an app registration's audience.
  if (entra === undefined || !audiences.every((a) => audienceKind(a) === "app-registration")) return [];
  if (!notJudged.visible("audience-incomplete", "audiences")) return [];
  const version = context.tokenVersion ?? acceptedVersion(jwt);
  const missing: string[] = [];
  let severity: LintFinding["severity"] = "warning";
  if (context.apiClientId !== undefined || context.appIdUri !== undefined) {
    if (context.apiClientId !== undefined && !audiences.includes(context.apiClientId)) {
      missing.push(`the client ID ${context.apiClientId}`);
      // v2 tokens always carry the API's client ID as aud (learn.microsoft.com/entra/identity-platform/access-token-claims-reference): none would pass.
      if (context.tokenVersion === 2) severity = "error";
    }
    if (context.appIdUri !== undefined && !audiences.includes(context.appIdUri) && version !== 2)
      missing.push(`the App ID URI ${context.appIdUri}`);
  } else {
    const guids = audiences.filter(isGuid);
    // v2 tokens carry the client ID and nothing else; v1 tokens the identifier the client asked for.
    if (guids.length === audiences.length && version === undefined) missing.push("the App ID URI");
    else if (guids.length === 0 && version !== 1) missing.push("the client ID");
  }
  if (missing.length === 0) return [];
  return [
    {
      code: "audience-incomplete",
      severity,
      element,
      message: `audiences list ${audiences.join(", ")} but not ${missing.join(" or ")}: ${version === 2 ? "v2 tokens carry the client ID as aud" : "v2 tokens carry the client ID, v1 tokens the App ID URI or ID requested"}`,
      fix: "List both the App ID URI and the client ID in <audiences>.",
      premise: `${entra}; the audience is an app registration's`,
    },
  ];
}
