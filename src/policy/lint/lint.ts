// The policy linter: parses (or takes a composed policy), says the document-level findings, runs each
// family of rules on every token check (one module per family), and merges what the checks found.
import { parsePolicy, type ParsePolicyOptions } from "../parse.js";
import type { ApimPolicy, ValidateJwtPolicy } from "../types.js";
import { lintAudiences } from "./audiences.js";
import { lintCallers, lintClientApplications } from "./callers.js";
import { conditionalValidationFindings, conditionFindings, coveredChecks } from "./choose.js";
import type { LintContext, LintFinding } from "./findings.js";
import { lintIssuers, lintTenant } from "./tenants-and-issuers.js";
import { droppedInheritanceFindings, missingValidationFinding } from "./missing-validation.js";
import { NotJudged, notJudgedFindings, unresolvedNamedValueFindings } from "./not-judged.js";
import { placeholderFindings } from "./placeholders.js";
import { entraPremise } from "./premises.js";
import type { Draft, Surroundings } from "./rule.js";
import { lintSignatureAndLifetime, pinnedKeyFindings } from "./signature-and-lifetime.js";
import { lintTokenSource } from "./token-source.js";

/** Findings that say a rule is missing (rather than wrong): met when any check of the policy has the rule. */
const ABSENCE_CODES: ReadonlySet<LintFinding["code"]> = new Set([
  "no-audience-check",
  "no-role-claim",
  "no-issuer-check",
  "no-signing-keys",
]);

/**
 * Lints a policy document for the mistakes people troubleshooting APIM token validation report. Parses with the shared
 * parser, so a document the gateway would refuse throws its PolicyError (naming the element) here too.
 * Findings come in document order of the checks below; none repeats.
 */
export function lintPolicy(
  xml: string,
  context: LintContext = {},
  parseOptions: ParsePolicyOptions = {},
): LintFinding[] {
  return lintParsedPolicy(parsePolicy(xml, parseOptions), context);
}

/** The findings for an already parsed (or composed) policy: every token check, in document order. */
export function lintParsedPolicy(policy: ApimPolicy, context: LintContext = {}): LintFinding[] {
  const findings: LintFinding[] = unresolvedNamedValueFindings(policy);
  findings.push(...droppedInheritanceFindings(policy), ...conditionFindings(policy.inbound));
  if (policy.tokenChecks.length === 0) {
    findings.push(missingValidationFinding(policy));
    return findings;
  }
  const surroundings: Surroundings = {
    policy,
    context,
    covered: coveredChecks(policy.inbound),
    unconditional: policy.tokenChecks.some((c) => c.conditions.length === 0),
  };
  // APIM applies every check in turn, so a rule that one check lacks but another (unconditional)
  // one has is in force: an "absent rule" finding stands only when no check has the rule.
  const perCheck = policy.tokenChecks.map((check) => lintCheck(check, surroundings));
  const unconditional = policy.tokenChecks
    .map((check, i) => ({ check, found: perCheck[i]! }))
    .filter(({ check }) => check.conditions.length === 0);
  for (const found of perCheck) {
    findings.push(
      ...found.filter(
        (f) => !ABSENCE_CODES.has(f.code) || unconditional.every((u) => u.found.some((g) => g.code === f.code)),
      ),
    );
  }
  // Each check is linted on its own; the same finding from two checks is said once. Findings about
  // the document itself (a condition, a scope) stand each at its own place.
  const seen = new Set<string>();
  return findings.filter((f) => {
    const key = `${f.code}\u0000${f.element}${f.code === "invalid-condition" || f.code === "base-dropped" ? `\u0000${f.file ?? ""}:${f.line ?? ""}` : ""}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function lintCheck(check: ValidateJwtPolicy, around: Surroundings): LintFinding[] {
  const notJudged = new NotJudged(check);
  const entra = entraPremise(check);
  const found =
    check.element === "validate-azure-ad-token"
      ? [
          ...lintTenant(check, around, entra),
          ...lintClientApplications(check, around, notJudged),
          ...lintAudiences(check, around, entra, notJudged),
          ...lintCallers(check, around, entra, notJudged),
        ]
      : [
          ...lintSignatureAndLifetime(check, notJudged),
          ...lintTokenSource(check),
          ...lintIssuers(check, around, entra, notJudged),
          ...lintAudiences(check, around, entra, notJudged),
          ...lintCallers(check, around, entra, notJudged),
        ];
  // Said within any-tenant-accepted already: every tenant's users, not just this one's.
  if (found.some((f) => f.code === "any-tenant-accepted"))
    found.splice(0, found.length, ...found.filter((f) => f.code !== "first-party-audience"));
  const extra: Draft[] = [
    ...placeholderFindings(check),
    ...pinnedKeyFindings(check, entra),
    ...conditionalValidationFindings(check, around),
    ...notJudgedFindings(check, notJudged),
  ];
  return [...found, ...extra].map((f) => ({
    ...f,
    element: f.element.replace(/^validate-jwt/, check.element),
    ...(check.line > 0 ? { line: check.line } : {}),
    ...(check.source ? { scope: check.source.scope, file: check.source.file } : {}),
  }));
}
