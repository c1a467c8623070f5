import type { ProbeResult, RunReport } from "./types.js";

/** Milliseconds to 0.1 ms: the clock is finer, but `27.712565000000268` helps nobody. */
export const roundMs = (ms: number): number => Math.round(ms * 10) / 10;

/**
 * One result as the JSON document shows it. There is one `cause`: the diagnosis code when there is
 * a diagnosis (what alert rules and dashboards key on), else the raw code. The raw code (an AADSTS
 * code, a transport kind, an OAuth error) and the status are evidence, under `diagnosis.evidence`.
 */
export function jsonResult(r: ProbeResult): Record<string, unknown> {
  const { cause: rawCause, diagnosis, durationMs, ...rest } = r;
  const cause = diagnosis?.cause ?? rawCause;
  return {
    ...rest,
    durationMs: roundMs(durationMs),
    ...(cause !== undefined ? { cause } : {}),
    ...(diagnosis
      ? {
          diagnosis: {
            summary: diagnosis.summary,
            fix: diagnosis.fix,
            evidence: { ...diagnosis.evidence, ...(rawCause !== undefined && rawCause !== diagnosis.cause ? { code: rawCause } : {}) },
          },
        }
      : {}),
  };
}

/** The run as a JSON value: `{ runId, startedAt, trigger, source?, results, summary, delivery? }`. */
export function jsonReport(report: RunReport): Record<string, unknown> {
  const { runId, startedAt, trigger, source, results, summary, delivery } = report;
  return {
    runId,
    startedAt,
    trigger,
    ...(source ? { source } : {}),
    results: results.map(jsonResult),
    summary: { ...summary, durationMs: roundMs(summary.durationMs) },
    ...(delivery ? { delivery } : {}),
  };
}

/** The `--format json` document, indented; `ndjson` puts it on one line (one run a line, for `watch`). */
export function renderJson(report: RunReport, options: { ndjson?: boolean } = {}): string {
  return `${JSON.stringify(jsonReport(report), null, options.ndjson ? undefined : 2)}\n`;
}
