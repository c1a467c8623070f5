import type { CauseCode } from "../diagnosis/catalogue.js";
import { productVersion } from "../version.js";
import type { ProbeResultDocument, RunDocument } from "./document.js";
import { RESULT_SCHEMA_VERSION } from "./schema-version.js";
import type { ProbeResult, RunReport } from "./types.js";

/** Milliseconds to 0.1 ms: the clock is finer, but `27.712565000000268` helps nobody. */
export const roundMs = (ms: number): number => Math.round(ms * 10) / 10;

/**
 * One result as the JSON document shows it (schema/run-result.schema.json). There is one `cause`
 * vocabulary: the diagnosis code. The raw code (an AADSTS code, a transport kind, an OAuth error) is
 * evidence: `diagnosis.evidence.code`, or `evidence.code` on a result without a diagnosis (a pass of
 * `unassigned-client` refused by Entra).
 */
export function jsonResult(r: ProbeResult): ProbeResultDocument {
  const { cause: rawCause, diagnosis, durationMs, expectedStatuses, tokenDrift, ...rest } = r;
  const raw = rawCause !== undefined && rawCause !== diagnosis?.cause ? { code: rawCause } : undefined;
  return {
    ...rest,
    expectedStatuses: [...expectedStatuses],
    ...(tokenDrift ? { tokenDrift: [...tokenDrift] } : {}),
    durationMs: roundMs(durationMs),
    ...(diagnosis ? { cause: diagnosis.cause as CauseCode } : {}),
    ...(!diagnosis && raw ? { evidence: raw } : {}),
    ...(diagnosis
      ? { diagnosis: { summary: diagnosis.summary, fix: diagnosis.fix, evidence: { ...diagnosis.evidence, ...raw } } }
      : {}),
  };
}

export interface JsonOptions {
  /** One line (NDJSON), for `watch`: one run a line. */
  ndjson?: boolean;
  /** The CLI's exit code for this run; absent in the HTTP trigger's answer. */
  exitCode?: number;
}

/** The run as the published document: schema version, tool, run, results, summary, delivery. */
export function jsonReport(report: RunReport, options: JsonOptions = {}): RunDocument {
  const { runId, startedAt, trigger, source, results, summary, delivery } = report;
  return {
    schemaVersion: RESULT_SCHEMA_VERSION,
    tool: { name: "apim-smoke", version: productVersion() },
    runId,
    startedAt,
    trigger,
    ...(source ? { source } : {}),
    ...(options.exitCode !== undefined ? { exitCode: options.exitCode } : {}),
    results: results.map(jsonResult),
    summary: { ...summary, durationMs: roundMs(summary.durationMs) },
    ...(delivery ? { delivery } : {}),
  };
}

/** The `--format json` document, indented; `ndjson` puts it on one line. */
export function renderJson(report: RunReport, options: JsonOptions = {}): string {
  return `${JSON.stringify(jsonReport(report, options), null, options.ndjson ? undefined : 2)}\n`;
}
