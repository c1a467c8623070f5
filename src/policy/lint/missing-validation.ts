// Findings where an operation's token validation is missing: none in the document (no-validate-jwt,
// or validation-inherited where an enclosing scope or a fragment may validate), or an inner scope
// without <base /> that drops the enclosing scopes' checks (base-dropped).
import type { ApimPolicy } from "../types.js";
import type { LintFinding } from "./findings.js";

/** The one finding for a policy with no token check. */
export function missingValidationFinding(policy: ApimPolicy): LintFinding {
  if (policy.inheritsInbound || policy.includedFragments.length > 0) {
    return {
      code: "validation-inherited",
      // Info: whether an enclosing scope validates is not in this document; --apiops judges it
      // (and reports no-validate-jwt or base-dropped where nothing does).
      severity: "info",
      element: "policies/inbound",
      message: `no token validation in this document; it ${policy.inheritsInbound ? "inherits the enclosing scope's inbound policy (<base />)" : ""}${policy.inheritsInbound && policy.includedFragments.length > 0 ? " and " : ""}${policy.includedFragments.length > 0 ? `includes fragment(s) ${policy.includedFragments.join(", ")}` : ""}, which may validate tokens`,
      fix: "Lint the effective policy of each operation: apim-smoke policy check --apiops DIR (global, product, API and operation scopes with their fragments).",
    };
  }
  // An inbound section that always answers itself (<return-response>, e.g. a metadata document)
  // reaches no backend: nothing is exposed by the missing token check.
  const answers = policy.inbound.find((s) => s.kind === "return-response");
  if (answers) {
    return {
      code: "no-validate-jwt",
      severity: "info",
      element: "policies/inbound",
      message: `no token validation, but the gateway answers every request itself (<return-response> at line ${answers.line}): no backend is reached`,
      fix: "Nothing to change if the answer is public by design (a metadata document); otherwise validate tokens before <return-response>.",
    };
  }
  if (policy.mayBeGlobal) {
    // No section says <base />: the global policy looks like this, and APIs may validate at their
    // own scope. A warning here; --apiops decides (an error where nothing validates).
    return {
      code: "no-validate-jwt",
      severity: "warning",
      element: "policies/inbound",
      message:
        "no validate-jwt or validate-azure-ad-token, and no section says <base />: if this is the global policy, APIs may validate at their own scope; if it is an API's, product's or operation's, the gateway lets any caller with a subscription key (or none) through without a token",
      fix: "Lint the effective policy of each operation: apim-smoke policy check --apiops DIR. An API scope's policy should say <base /> and validate tokens (validate-azure-ad-token or validate-jwt).",
    };
  }
  // An enclosing scope does validate, but a scope without <base /> drops it: the fix is <base />,
  // not another validate-jwt (base-dropped names the file).
  const dropping = policy.droppedInheritance.filter((d) => d.lost.some((l) => l.kind === "token-check"));
  return {
    code: "no-validate-jwt",
    severity: "error",
    element: "policies/inbound",
    message:
      dropping.length > 0
        ? `no validate-jwt or validate-azure-ad-token is left in the effective policy: ${dropping.map((d) => `${d.scope} ${d.file}`).join(", ")} drops the enclosing scope's (base-dropped); the gateway lets any caller with a subscription key (or none) through without a token`
        : "no validate-jwt or validate-azure-ad-token: the gateway lets any caller with a subscription key (or none) through without a token",
    fix:
      dropping.length > 0
        ? `Put <base /> first in the inbound section of ${dropping.map((d) => d.file).join(", ")}, so the enclosing scope's token validation applies.`
        : "Add validate-azure-ad-token (with client-application-ids) or validate-jwt (with openid-config, <audiences>, <issuers> and the app role in required-claims) to the API's inbound policy.",
  };
}

export function droppedInheritanceFindings(policy: ApimPolicy): LintFinding[] {
  return policy.droppedInheritance.map((drop) => {
    const tokenLost = drop.lost.some((l) => l.kind === "token-check");
    const openNow = tokenLost && !policy.tokenChecks.some((c) => c.conditions.length === 0);
    return {
      code: "base-dropped",
      severity: openNow ? "error" : "warning",
      element: "policies/inbound",
      message: `${drop.scope} ${drop.file} has no <base /> in its inbound section, so it drops ${drop.lost.map((l) => l.what).join(", ")}${openNow ? ": no token validation is left for this operation" : tokenLost && drop.ownTokenCheck ? " (its own token check replaces the dropped one)" : ""}`,
      fix: `Put <base /> in the inbound section of ${drop.file} (first, so the enclosing scopes' checks run before its own policies).`,
      scope: drop.scope,
      file: drop.file,
    };
  });
}
