import { SUCCESS_STATUSES } from "../../probe-matrix/statuses.js";
import type { Outcome } from "../results/types.js";
import { REJECTING_PROBES, type ProbeName } from "../../probe-matrix/names.js";

/** A 2xx: the request was let in. */
export const isSuccess = (status: number): boolean => status >= 200 && status < 300;

/**
 * Outcome of a probe that got an HTTP answer: an expected status passes; a 2xx on a probe
 * that must be refused is `security` (the gateway let a bad caller in); anything else fails.
 * An expected list is explicit configuration, so it is checked first: a target that declares 200
 * for `no-subscription-key` (an API without subscriptions) passes on 200.
 */
export function classifyStatus(
  probe: ProbeName,
  expected: readonly number[],
  status: number,
): Extract<Outcome, "pass" | "fail" | "security"> {
  if (expected.includes(status)) return "pass";
  if (REJECTING_PROBES.includes(probe) && isSuccess(status)) return "security";
  return "fail";
}

/** `[200..206]` reads as `2xx`; others as `401/403`. */
export function formatStatuses(statuses: readonly number[]): string {
  if (statuses.length === SUCCESS_STATUSES.length && SUCCESS_STATUSES.every((s) => statuses.includes(s))) return "2xx";
  return statuses.join("/");
}
