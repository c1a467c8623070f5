// What a per-check rule receives and returns.
import type { ApimPolicy, ValidateJwtPolicy } from "../types.js";
import type { LintContext, LintFinding } from "./findings.js";

/** A finding before the check's element, line and scope are stamped on it. */
export type Draft = Omit<LintFinding, "line" | "scope" | "file">;

/** What a rule needs from the policy around the check. */
export interface Surroundings {
  policy: ApimPolicy;
  context: LintContext;
  /** Checks inside a `<choose>` whose every branch validates or refuses: not a conditional gap. */
  covered: ReadonlySet<ValidateJwtPolicy>;
  /** An unconditional check stands in the policy: conditional ones only add to it. */
  unconditional: boolean;
}
