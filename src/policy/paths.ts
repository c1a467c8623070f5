import type { InboundStep } from "./types.js";

/**
 * Whether every way through the inbound section meets a token check, or a refusal (`<return-response>`
 * with 401 or 403), before the request goes on: `<choose>` runs one branch, and one without
 * `<otherwise>` lets the request pass it untouched when no condition holds.
 */
export function validatesOnEveryPath(steps: readonly InboundStep[]): boolean {
  for (const step of steps) {
    if (step.kind === "token-check") return true;
    if (step.kind === "return-response") return step.status === 401 || step.status === 403;
    if (
      step.kind === "choose" &&
      step.branches.some((b) => b.condition === undefined) &&
      step.branches.every((b) => validatesOnEveryPath(b.steps))
    )
      return true;
  }
  return false;
}
