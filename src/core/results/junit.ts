import { XMLBuilder } from "fast-xml-parser";
import { formatStatuses } from "../probes/classify.js";
import type { ProbeResult, RunReport } from "./types.js";

const builder = new XMLBuilder({
  ignoreAttributes: false,
  attributeNamePrefix: "@_",
  format: true,
  suppressEmptyNode: true,
});

const seconds = (ms: number): string => (Math.max(0, ms) / 1000).toFixed(3);
const oneLine = (text: string): string => text.replace(/\s+/g, " ").trim();

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
      // No `skipped` here: the JUnit schema Jenkins and Azure DevOps read has it on <testsuite> only.
      "@_time": seconds(report.summary.durationMs),
      testsuite: suites,
    },
  };
  return String(builder.build(doc));
}

function testcase(r: ProbeResult): Record<string, unknown> {
  const base = { "@_name": r.probe, "@_classname": `${r.target}`, "@_time": seconds(r.durationMs) };
  const d = r.diagnosis;
  // One cause vocabulary, the diagnosis code; Entra's code, the transport kind and the other raw facts are evidence.
  const rawCode = r.cause !== undefined && r.cause !== d?.cause ? r.cause : undefined;
  const details = [
    d ? `cause: ${d.cause}` : undefined,
    d ? `fix: ${oneLine(d.fix)}` : undefined,
    `expected: ${r.probe === "token" ? "a token" : formatStatuses(r.expectedStatuses)}`,
    `actual: ${r.actualStatus ?? "none"}`,
    r.apimMessage ? `apim: ${r.apimMessage}` : undefined,
    r.requestId ? `request id: ${r.requestId}` : undefined,
    rawCode ? `evidence code: ${rawCode}` : undefined,
    ...Object.entries(d?.evidence ?? {}).map(([k, v]) => `evidence ${k}: ${v}`),
  ]
    .filter(Boolean)
    .join("\n");
  // A pipeline shows the message first: the cause code and its summary, then the fix.
  const message = d ? `[${d.cause}] ${oneLine(d.summary)} Fix: ${oneLine(d.fix)}` : r.message;
  switch (r.outcome) {
    case "pass":
      // A pass can carry a warning (audience-unproven): said where the pipeline keeps a passing test's output.
      return d ? { ...base, "system-out": `[${d.cause}] ${oneLine(d.summary)}\n${details}` } : base;
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
