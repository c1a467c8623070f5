import type { ProbeObservation } from "../diagnosis/observation.js";
import { ProbeError, TokenAcquisitionError, TransportError, UnsafeRequestError } from "../errors.js";
import type { ProbeResult } from "../results/types.js";

/** What a diagnosis needs beyond the result: who answered, the preflight, the token request. */
export type Observed = Omit<Partial<ProbeObservation>, "probe" | "outcome" | "expectedStatuses">;

/** What one probe produced before the common fields (target, probe, times) are added. */
export type ProbePartial = Omit<ProbeResult, "target" | "probe" | "expectedStatuses" | "startedAt" | "durationMs"> & {
  durationMs?: number;
  observed?: Observed;
};

export function observe(partial: ProbePartial, more: Observed): ProbePartial {
  return { ...partial, observed: { ...partial.observed, ...more } };
}

export function skipped(reason: string): ProbePartial {
  return { outcome: "skipped", message: reason, durationMs: 0 };
}

/** The short stable code of a failure: the AADSTS code, the OAuth error, the transport kind, the error's code. */
export function causeOf(error: ProbeError): string {
  if (error instanceof TokenAcquisitionError) {
    if (error.details.aadsts) return `AADSTS${error.details.aadsts}`;
    return error.details.oauthError ?? error.code;
  }
  if (error instanceof TransportError) return error.runBudget ? "run-budget" : error.kind;
  return error.code;
}

export function errorResult(error: unknown): ProbePartial {
  if (error instanceof TransportError || error instanceof UnsafeRequestError) {
    return { outcome: "error", message: error.message, cause: causeOf(error) };
  }
  if (error instanceof ProbeError) return { outcome: "error", message: error.message, cause: error.code };
  // Not ours: say what kind without echoing anything that might carry request data.
  return {
    outcome: "error",
    message: `unexpected ${error instanceof Error ? error.name : "error"}`,
    cause: "internal",
  };
}
