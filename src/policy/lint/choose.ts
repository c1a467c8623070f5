// Findings about <choose>: a condition no request satisfies as written (invalid-condition), and token
// validation that applies only on some branches (conditional-token-validation).
import { conditionProblem } from "../conditions.js";
import type { InboundStep, ValidateJwtPolicy } from "../types.js";
import type { LintFinding } from "./findings.js";
import type { Draft, Surroundings } from "./rule.js";
import { clip } from "../parse-values.js";

/** A check that applies only on some branches, with nothing unconditional standing in for it. */
export function conditionalValidationFindings(check: ValidateJwtPolicy, around: Surroundings): Draft[] {
  const extra: Draft[] = [];
  if (check.conditions.length > 0 && !around.unconditional && !around.covered.has(check)) {
    extra.push({
      code: "conditional-token-validation",
      severity: "warning",
      element: `${check.element} in <choose>`,
      message: `token validation applies only when: ${check.conditions.join(" and ")}; a request on a branch without validation (and without a refusal) reaches the backend unchecked`,
      fix: "Validate tokens unconditionally (outside <choose>), or make every other branch validate too or refuse (<return-response> with 401).",
    });
  }
  return extra;
}

/**
 * Checks standing in a `<choose>` none of whose branches lets a request through unchecked: each
 * branch (the missing `<otherwise>` included) validates a token or refuses (401/403).
 */
export function coveredChecks(steps: readonly InboundStep[]): Set<ValidateJwtPolicy> {
  const covered = new Set<ValidateJwtPolicy>();
  const guards = (branch: readonly InboundStep[]): boolean =>
    branch.some(
      (s) =>
        s.kind === "token-check" ||
        (s.kind === "return-response" && (s.status === 401 || s.status === 403)) ||
        (s.kind === "choose" &&
          s.branches.some((b) => b.condition === undefined) &&
          s.branches.every((b) => guards(b.steps))),
    );
  const visit = (list: readonly InboundStep[]) => {
    for (const step of list) {
      if (step.kind !== "choose") continue;
      const complete =
        step.branches.some((b) => b.condition === undefined) && step.branches.every((b) => guards(b.steps));
      if (complete) for (const check of checksIn(step.branches.flatMap((b) => b.steps))) covered.add(check);
      for (const branch of step.branches) visit(branch.steps);
    }
  };
  visit(steps);
  return covered;
}

export function checksIn(steps: readonly InboundStep[]): ValidateJwtPolicy[] {
  return steps.flatMap((s) =>
    s.kind === "token-check" ? [s.check] : s.kind === "choose" ? checksIn(s.branches.flatMap((b) => b.steps)) : [],
  );
}

/** `<when condition>`s that are not valid expressions or that no request can satisfy. */
export function conditionFindings(steps: readonly InboundStep[]): LintFinding[] {
  const findings: LintFinding[] = [];
  for (const step of steps) {
    if (step.kind !== "choose") continue;
    for (const branch of step.branches) {
      const problem = branch.condition === undefined ? undefined : conditionProblem(branch.condition);
      if (problem !== undefined) {
        findings.push({
          code: "invalid-condition",
          severity: "warning",
          element: "choose/when/@condition",
          message: `condition ${clip(branch.condition!)} ${problem}; the branch it guards does not run as written`,
          fix: 'Correct the expression (C# inside @(...)); the request method is upper case and compared exactly, e.g. @(context.Request.Method == "POST").',
          ...(branch.line > 0 ? { line: branch.line } : {}),
          ...(step.source ? { scope: step.source.scope, file: step.source.file } : {}),
        });
      }
      findings.push(...conditionFindings(branch.steps));
    }
  }
  return findings;
}
