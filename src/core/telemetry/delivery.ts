import type { DeliveryProblem, DeliveryReport } from "../results/types.js";
import { describeDamaged } from "../state/store.js";
import { lostCount, type TelemetryOutcome } from "./reporter.js";

/** The JSON document's `delivery` section, from what the reporter returned. */
export function deliveryReport(outcome: TelemetryOutcome): DeliveryReport {
  const kept = outcome.notAccepted.filter((r) => r.kept).length;
  const problems = new Map<string, DeliveryProblem>();
  for (const r of outcome.notAccepted) {
    const key = `${r.reason}\n${r.fix ?? ""}`;
    const problem = problems.get(key) ?? { reason: r.reason, ...(r.fix ? { fix: r.fix } : {}), results: 0, kept: 0 };
    problem.results += 1;
    if (r.kept) problem.kept += 1;
    problems.set(key, problem);
  }
  const outbox = outcome.outbox;
  return {
    endpoint: outcome.endpoint ?? "unknown",
    sent: outcome.tracked,
    accepted: outcome.accepted,
    kept,
    lost: lostCount(outcome),
    evicted: outbox?.evicted ?? { total: 0, byOutcome: {} },
    earlier: outbox?.earlier ?? { delivered: 0, refused: 0, tooOld: 0 },
    ...(outbox?.pending !== undefined ? { waiting: outbox.pending } : {}),
    ...(outbox ? { store: outbox.description } : {}),
    durationMs: outcome.deliveryMs ?? 0,
    problems: [...problems.values()],
    ...(outbox?.damaged ? { damagedState: outbox.damaged } : {}),
    ...(outbox?.problem !== undefined ? { stateProblem: outbox.problem } : {}),
  };
}

/** Whether the run must not look fine: results lost or evicted, or a damaged state set aside. */
export function deliveryNeedsAttention(outcome: TelemetryOutcome): boolean {
  return lostCount(outcome) > 0 || outcome.outbox?.damaged !== undefined;
}

/**
 * `availability: 8/10 results accepted by ingestion, 2 kept in state dir ./state for a later run;
 * from earlier runs: 10 delivered; 2 waiting in the outbox`. Lost results are said to be lost.
 * `keepHint` says how to keep them when there is no outbox (the CLI's --state-dir).
 */
export function describeDelivery(outcome: TelemetryOutcome, keepHint = "kept nowhere"): string {
  const kept = outcome.notAccepted.filter((r) => r.kept).length;
  const evictedMine = outcome.notAccepted.filter((r) => r.evicted === true).length;
  const lost = outcome.notAccepted.length - kept - evictedMine;
  const parts = [`availability: ${outcome.accepted}/${outcome.tracked} results accepted by ingestion`];
  if (kept > 0) parts.push(`${kept} kept in ${outcome.outbox?.description ?? "the state"} for a later run`);
  if (lost > 0) parts.push(`${lost} not accepted and lost (${outcome.outbox ? "could not be kept" : keepHint})`);
  let line = parts.join(", ");
  const earlier = outcome.outbox?.earlier;
  if (earlier && earlier.delivered + earlier.refused + earlier.tooOld > 0) {
    const said = [
      earlier.delivered > 0 ? `${earlier.delivered} delivered` : "",
      earlier.refused > 0 ? `${earlier.refused} refused and dropped` : "",
      earlier.tooOld > 0 ? `${earlier.tooOld} too old and dropped` : "",
    ].filter(Boolean);
    line += `; from earlier runs: ${said.join(", ")}`;
  }
  const evicted = outcome.outbox?.evicted;
  if (evicted && evicted.total > 0) {
    line += `; ${evicted.total} evicted from the full outbox and lost (${Object.entries(evicted.byOutcome)
      .map(([o, n]) => `${o}=${n}`)
      .join(" ")})`;
  }
  if (outcome.outbox?.pending !== undefined && outcome.outbox.pending > 0)
    line += `; ${outcome.outbox.pending} waiting in the outbox`;
  return line;
}

/** One line per reason results were not accepted (host, status or error, fix), then a damaged or failing state. */
export function deliveryProblemLines(outcome: TelemetryOutcome): string[] {
  const report = deliveryReport(outcome);
  const lines = report.problems.map(
    (p) =>
      `availability: ${p.results} not accepted (${p.kept === p.results ? "kept for a later run" : p.kept > 0 ? `${p.kept} kept, ${p.results - p.kept} lost` : "lost"}): ${p.reason}${p.fix ? `; fix: ${p.fix}` : ""}`,
  );
  const damaged = outcome.outbox?.damaged;
  if (damaged) {
    lines.push(`state: ${describeDamaged(damaged)} and a new outbox was started`);
  }
  if (outcome.outbox?.problem !== undefined)
    lines.push(`state: the outbox could not be updated: ${outcome.outbox.problem}`);
  return lines;
}
