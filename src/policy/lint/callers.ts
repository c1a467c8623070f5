// Findings about who may call: no app role required, a Microsoft resource's audience with nothing
// pinning the caller, the caller claim of the other token version, no client-application-ids.
import type { ValidateJwtPolicy } from "../types.js";
import type { NotJudged } from "./not-judged.js";
import { acceptedVersion, audienceKind, callerRestriction } from "./premises.js";
import type { Draft, Surroundings } from "./rule.js";

export function lintClientApplications(check: ValidateJwtPolicy, around: Surroundings, notJudged: NotJudged): Draft[] {
  if (check.clientApplicationIds !== undefined) return [];
  if (!notJudged.visible("client-application-ids-missing", "client-application-ids")) return [];
  // Something else already says who may call; or the audience is the API's own app registration,
  // whose app roles (no-role-claim) are the way to restrict callers.
  if (callerRestriction(check, around.policy) !== undefined) return [];
  const audiences = check.audiences ?? [];
  if (audiences.length > 0 && audiences.every((a) => audienceKind(a) === "app-registration")) return [];
  if (!notJudged.visible("client-application-ids-missing", "audiences")) return [];
  const firstParty = audiences.filter((a) => audienceKind(a) === "first-party");
  return [
    {
      code: "client-application-ids-missing",
      severity: "warning",
      element: "validate-azure-ad-token/client-application-ids",
      message:
        firstParty.length > 0
          ? `no <client-application-ids> (documented as required) and the audience ${firstParty.join(", ")} is a Microsoft resource: any user or app of the tenant can get such a token and call the API`
          : "no <client-application-ids> (documented as required) and no audience: any token of the tenant, from any app, for any resource, is accepted",
      fix: "Add <client-application-ids><application-id>CLIENT ID</application-id></client-application-ids> listing the apps allowed to call the API.",
      premise: "validate-azure-ad-token (Entra ID tokens only)",
    },
  ];
}

export function lintCallers(
  jwt: ValidateJwtPolicy,
  around: Surroundings,
  entra: string | undefined,
  notJudged: NotJudged,
): Draft[] {
  const findings: Draft[] = [];
  if (entra === undefined) return findings;
  const hasValues = (name: string) => jwt.requiredClaims.some((c) => c.name === name && c.values.length > 0);
  const audiences =
    jwt.audiences ?? jwt.requiredClaims.find((c) => c.name === "aud" && c.values.length > 0)?.values ?? [];
  // App roles belong to the API's own app registration; a Microsoft resource's token has none of ours.
  const ownApp = audiences.length > 0 && audiences.every((a) => audienceKind(a) === "app-registration");
  if (!hasValues("roles") && notJudged.visible("no-role-claim", "required-claims", "audiences") && ownApp) {
    const restricted = callerRestriction(jwt, around.policy);
    findings.push({
      code: "no-role-claim",
      severity: restricted ? "info" : "warning",
      element: "validate-jwt/required-claims",
      message: restricted
        ? `no required roles claim; callers are restricted by ${restricted} instead`
        : "no required roles claim: any app in the tenant can get a token for the API and call it unless the API's enterprise application has 'Assignment required'",
      fix: 'Require the app role: <claim name="roles" match="any"><value>{role}</value></claim>, and set \'Assignment required\' on the API\'s enterprise application.',
      premise: `${entra}; the audience is an app registration's`,
    });
  }
  // A Microsoft resource's audience (ARM, Azure AI) with nothing else pinning the caller: every user
  // and app of the tenant can get such a token. validate-azure-ad-token says so as client-application-ids-missing.
  const firstParty = audiences.length > 0 && audiences.every((a) => audienceKind(a) === "first-party");
  if (
    jwt.element === "validate-jwt" &&
    firstParty &&
    callerRestriction(jwt, around.policy) === undefined &&
    notJudged.visible("first-party-audience", "required-claims")
  ) {
    findings.push({
      code: "first-party-audience",
      severity: "warning",
      element: "validate-jwt/audiences",
      message: `the audience ${audiences.join(", ")} is a Microsoft resource's and nothing restricts the caller: any user or app of the tenant can get such a token and call the API`,
      fix: "Validate tokens issued for the API's own app registration (its client ID and App ID URI) and require its app role; or require the callers' azp/appid.",
      premise: `${entra}; the audience is a Microsoft first-party resource's`,
    });
  }
  const azp = hasValues("azp");
  const appid = hasValues("appid");
  const version = around.context.tokenVersion ?? acceptedVersion(jwt);
  // v2 tokens name the caller in azp, v1 tokens in appid (Entra access token claims); the other claim is absent.
  const wrong = version === 1 && azp && !appid ? "azp" : version === 2 && appid && !azp ? "appid" : undefined;
  if (wrong !== undefined) {
    findings.push({
      code: "client-claim-version",
      severity: "error",
      element: `validate-jwt/required-claims/claim[@name=${wrong}]`,
      message: `${wrong} is required but v${version} tokens carry the caller in ${wrong === "azp" ? "appid" : "azp"}: every token is refused`,
      fix: `Require ${wrong === "azp" ? "appid" : "azp"} instead, with the same client IDs.`,
      premise: entra,
    });
  }
  return findings;
}
