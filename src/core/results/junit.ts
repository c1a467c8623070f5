import { XMLBuilder } from "fast-xml-parser";
import { formatStatuses } from "../probes/classify.js";
import type { ProbeResult, RunReport } from "./types.js";

const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: "@_", format: true, suppressEmptyNode: true });

const seconds = (ms: number): string => (ms / 1000).toFixed(3);

/**
 * JUnit XML for pipelines: one testsuite per target, one testcase per probe. `fail` and `security`
 * are failures (the API is wrong), `error` and `blocked` are errors (we could not tell), `skipped`
 * is skipped. fast-xml-parser escapes text and attributes.
 */
export function renderJunit(report: RunReport): string {
  const byTarget = new Map<string, ProbeResult[]>();
  for (const r of report.results) byTarget.set(r.target, [...(byTarget.get(r.target) ?? []), r]);
  const suites = [...byTarget].map(([target, results]) => ({
    "@_name": target,
    "@_tests": results.length,
    "@_failures": results.filter((r) => r.outcome === "fail" || r.outcome === "security").length,
    "@_errors": results.filter((r) => r.outcome === "error" || r.outcome === "blocked").length,
    "@_skipped": results.filter((r) => r.outcome === "skipped").length,
    "@_time": seconds(wallSpan(results, report.summary.durationMs)),
    "@_timestamp": report.startedAt,
    testcase: results.map(testcase),
  }));
  const doc = {
    "?xml": { "@_version": "1.0", "@_encoding": "UTF-8" },
    testsuites: {
      "@_name": "apim-smoke",
      "@_tests": report.summary.total,
      "@_failures": report.summary.byOutcome.fail + report.summary.byOutcome.security,
      "@_errors": report.summary.byOutcome.error + report.summary.byOutcome.blocked,
      "@_skipped": report.summary.byOutcome.skipped,
      "@_time": seconds(report.summary.durationMs),
      testsuite: suites,
    },
  };
  return String(builder.build(doc));
}

function testcase(r: ProbeResult): Record<string, unknown> {
  const base = { "@_name": r.probe, "@_classname": `${r.target}`, "@_time": seconds(r.durationMs) };
  const details = [
    `expected: ${r.probe === "token" ? "a token" : formatStatuses(r.expectedStatuses)}`,
    `actual: ${r.actualStatus ?? "none"}`,
    r.cause ? `cause: ${r.cause}` : undefined,
    r.apimMessage ? `apim: ${r.apimMessage}` : undefined,
    r.requestId ? `request id: ${r.requestId}` : undefined,
    r.diagnosis ? `diagnosis: ${r.diagnosis.cause}: ${r.diagnosis.summary}` : undefined,
    r.diagnosis ? `fix: ${r.diagnosis.fix}` : undefined,
    ...Object.entries(r.diagnosis?.evidence ?? {}).map(([k, v]) => `evidence ${k}: ${v}`),
  ]
    .filter(Boolean)
    .join("\n");
  // A pipeline shows the message first: lead with the cause code and its summary when there is one.
  const message = r.diagnosis ? `[${r.diagnosis.cause}] ${r.diagnosis.summary}` : r.message;
  switch (r.outcome) {
    case "pass":
      return base;
    case "skipped":
      return { ...base, skipped: { "@_message": r.message } };
    case "fail":
    case "security":
      return { ...base, failure: { "@_message": message, "@_type": r.outcome, "#text": `${r.message}\n${details}` } };
    case "error":
    case "blocked":
      return { ...base, error: { "@_message": message, "@_type": r.outcome, "#text": `${r.message}\n${details}` } };
  }
}

/**
 * A suite's time: the wall time from its first probe's start to its last probe's end, never more
 * than the whole run. Probes run concurrently, so the sum of their durations would exceed the total.
 */
function wallSpan(results: readonly ProbeResult[], runMs: number): number {
  const ran = results.filter((r) => r.outcome !== "skipped");
  if (ran.length === 0) return 0;
  const start = Math.min(...ran.map((r) => Date.parse(r.startedAt)));
  const end = Math.max(...ran.map((r) => Date.parse(r.startedAt) + r.durationMs));
  return Math.min(Math.max(end - start, ...ran.map((r) => r.durationMs)), runMs);
}
