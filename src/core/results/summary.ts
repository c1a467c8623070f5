import { roundMs } from "./json.js";
import { OUTCOMES, type Outcome, type ProbeResult, type RunSummary } from "./types.js";

/**
 * Counts per outcome; `ok` when every probe passed or was skipped and at least one passed (the
 * CLI's exit 0). A run in which every probe was skipped proved nothing, and is never an all-clear.
 */
export function summarize(results: readonly ProbeResult[], durationMs: number): RunSummary {
  const byOutcome = Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<Outcome, number>;
  for (const r of results) byOutcome[r.outcome]++;
  const nothingProven = byOutcome.skipped === results.length;
  return {
    total: results.length,
    byOutcome,
    ok: !nothingProven && results.every((r) => r.outcome === "pass" || r.outcome === "skipped"),
    nothingProven,
    durationMs: roundMs(durationMs),
  };
}
