import {
  decideCondition,
  evaluateValidateJwt,
  type ConditionRequest,
  type EvaluateDeps,
  type InboundStep,
} from "../../policy/index.js";
import type { AccessLimits } from "./access-limits.js";

/** What the inbound section comes to for one request: on to the backend, or the gateway's own answer. */
export type InboundOutcome =
  | { pass: true }
  | {
      pass: false;
      status: number;
      /** APIM's `{statusCode, message}` message; undefined for a `<return-response>` (no body here). */
      message?: string;
      reason: string;
      detail?: string;
      headers?: Record<string, string>;
    };

export interface InboundRequest extends ConditionRequest {
  callerIp: string;
}

/**
 * Runs an API's inbound policies as APIM does ([A] api-management-howto-policies.md): in document
 * order, each to completion before the next, so a request `validate-jwt` refuses never reaches a
 * `rate-limit` or `ip-filter` after it (and is not counted by it); `<choose>` runs exactly one
 * branch, the first `<when>` whose condition holds, else `<otherwise>`, else none; a
 * `<return-response>` answers there and then.
 *
 * A condition the request alone does not decide (context variables, the body, the subscription)
 * needs APIM's runtime. When the `<choose>` holds nothing that admits or refuses a caller (only
 * headers, variables, logging), it is passed over; otherwise the sandbox refuses with 500 and names
 * the condition: it enforces exactly what it can evaluate, never every branch and never none.
 */
export async function runInbound(
  steps: readonly InboundStep[],
  request: InboundRequest,
  context: { api: string; limits: AccessLimits; deps: EvaluateDeps },
): Promise<InboundOutcome> {
  for (const step of steps) {
    switch (step.kind) {
      case "token-check": {
        const outcome = await evaluateValidateJwt(step.check, request, context.deps);
        if (!outcome.ok)
          return {
            pass: false,
            status: outcome.status,
            message: outcome.message,
            reason: outcome.reason,
            detail: outcome.detail,
          };
        break;
      }
      case "restriction": {
        const refusal = context.limits.refusal(context.api, step.restriction, request.callerIp, request.headers);
        if (refusal) return { pass: false, ...refusal };
        break;
      }
      case "return-response":
        return {
          pass: false,
          status: step.status ?? 200,
          reason: "ReturnResponse",
          detail: `<return-response> at line ${step.line}`,
        };
      case "choose": {
        let taken: readonly InboundStep[] | undefined;
        for (const branch of step.branches) {
          if (branch.condition === undefined) {
            taken = branch.steps;
            break;
          }
          const decided = decideCondition(branch.condition, request);
          if (decided === true) {
            taken = branch.steps;
            break;
          }
          if (decided === undefined) {
            if (!step.branches.some((b) => affectsAccess(b.steps))) {
              taken = [];
              break;
            }
            return {
              pass: false,
              status: 500,
              message: "Internal server error",
              reason: "ConditionNotEvaluable",
              detail: `the sandbox cannot evaluate <when condition> at line ${branch.line} (${clip(branch.condition)}): it needs APIM's runtime`,
            };
          }
        }
        if (taken) {
          const outcome = await runInbound(taken, request, context);
          if (!outcome.pass) return outcome;
        }
        break;
      }
    }
  }
  return { pass: true };
}

function affectsAccess(steps: readonly InboundStep[]): boolean {
  return steps.some((s) => s.kind !== "choose" || s.branches.some((b) => affectsAccess(b.steps)));
}

function clip(value: string): string {
  const line = value.replace(/\s+/g, " ").trim();
  return line.length > 80 ? `${line.slice(0, 80)}...` : line;
}
