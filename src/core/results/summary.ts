import { roundMs } from "./json.js";
import { OUTCOMES, type Outcome, type ProbeResult, type RunSummary } from "./types.js";

/** Counts per outcome; `ok` when every probe passed or was skipped (the CLI's exit 0). */
export function summarize(results: readonly ProbeResult[], durationMs: number): RunSummary {
  const byOutcome = Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<Outcome, number>;
  for (const r of results) byOutcome[r.outcome]++;
  return {
    total: results.length,
    byOutcome,
    ok: results.every((r) => r.outcome === "pass" || r.outcome === "skipped"),
    durationMs: roundMs(durationMs),
  };
}
