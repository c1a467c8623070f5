import type { RunReport } from "./types.js";

/** The `--format json` document: `{ results, summary }` plus the run's id and start (issue 3). */
export function renderJson(report: RunReport): string {
  const { runId, startedAt, trigger, source, results, summary } = report;
  return `${JSON.stringify({ runId, startedAt, trigger, ...(source ? { source } : {}), results, summary }, null, 2)}\n`;
}
