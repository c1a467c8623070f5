import { XMLParser } from "fast-xml-parser";
import { describe, expect, it } from "vitest";
import { renderJson } from "../../../src/core/results/json.js";
import { renderJunit } from "../../../src/core/results/junit.js";
import { summarize } from "../../../src/core/results/summary.js";
import { renderTable } from "../../../src/core/results/table.js";
import type { Outcome, ProbeResult, RunReport } from "../../../src/core/results/types.js";
import type { ProbeName } from "../../../src/probe-matrix/names.js";

function result(target: string, probe: ProbeName, outcome: Outcome, extra: Partial<ProbeResult> = {}): ProbeResult {
  return {
    target,
    probe,
    outcome,
    expectedStatuses: [401],
    durationMs: 12,
    message: `${probe} <&> "msg"`,
    startedAt: "2026-01-01T00:00:00.000Z",
    ...extra,
  };
}

const results = [
  result("orders", "valid", "pass", { expectedStatuses: [200, 201, 202, 203, 204, 205, 206], actualStatus: 200 }),
  result("orders", "no-token", "security", { actualStatus: 200 }),
  result("orders", "alg-none", "fail", { actualStatus: 500, apimMessage: "boom", requestId: "r1" }),
  result("billing", "token", "error", { cause: "timeout", expectedStatuses: [] }),
  result("billing", "valid", "blocked", { cause: "AADSTS7000215" }),
  result("billing", "expired-token", "skipped"),
];
const report: RunReport = {
  runId: "run-1",
  startedAt: "2026-01-01T00:00:00.000Z",
  trigger: "cli",
  results,
  summary: summarize(results, 99),
};

describe("summarize", () => {
  it("counts every outcome; ok only when all passed or skipped", () => {
    expect(report.summary.byOutcome).toEqual({ pass: 1, fail: 1, security: 1, error: 1, blocked: 1, skipped: 1 });
    expect(report.summary.ok).toBe(false);
    expect(summarize([results[0]!, results[5]!], 1).ok).toBe(true);
  });

  it("a run in which every probe was skipped proved nothing: not ok, and the table says so", () => {
    const skippedOnly = [results[5]!, result("billing", "unassigned-client", "skipped")];
    const summary = summarize(skippedOnly, 1);
    expect(summary).toMatchObject({ ok: false, nothingProven: true });
    expect(summarize([], 1)).toMatchObject({ ok: false, nothingProven: true });
    expect(summarize([results[0]!, results[5]!], 1).nothingProven).toBe(false);
    const table = renderTable({ ...report, results: skippedOnly, summary }, { color: false });
    expect(table).toMatch(/^NOTHING PROVEN: 2 probes/m);
  });
});

describe("renderJson", () => {
  it("is { results, summary } plus run id", () => {
    const doc = JSON.parse(renderJson(report)) as { results: unknown[]; summary: { total: number }; runId: string };
    expect(doc.results).toHaveLength(6);
    expect(doc.summary.total).toBe(6);
    expect(doc.runId).toBe("run-1");
  });
});

describe("renderJunit", () => {
  it("one testsuite per target, one testcase per probe, failure/error/skipped by outcome", () => {
    const xml = renderJunit(report);
    const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "" }).parse(xml) as {
      testsuites: {
        tests: string;
        failures: string;
        errors: string;
        skipped: string;
        testsuite: { name: string; testcase: Record<string, unknown>[] }[];
      };
    };
    expect(doc.testsuites).toMatchObject({ tests: "6", failures: "2", errors: "2" });
    expect(doc.testsuites).not.toHaveProperty("skipped");
    const [orders, billing] = doc.testsuites.testsuite;
    expect(orders!.name).toBe("orders");
    expect(orders!.testcase.map((t) => t.name)).toEqual(["valid", "no-token", "alg-none"]);
    expect(orders!.testcase[0]).not.toHaveProperty("failure");
    expect(orders!.testcase[1]).toHaveProperty("failure");
    expect(billing!.testcase[0]).toHaveProperty("error");
    expect(billing!.testcase[1]).toHaveProperty("error");
    expect(billing!.testcase[2]).toHaveProperty("skipped");
    // Messages are escaped, not raw markup.
    expect(xml).not.toContain('<&> "msg"');
  });
});

describe("renderTable", () => {
  it("plain text without colour codes when not a terminal, coloured when it is", () => {
    const plain = renderTable(report, { color: false });
    expect(plain).not.toContain("\x1b[");
    expect(plain).toContain("2xx");
    expect(plain).toContain("NOT OK");
    expect(plain.split("\n").filter((l) => l.startsWith("orders") || l.startsWith("billing"))).toHaveLength(6);
    expect(renderTable(report, { color: true })).toContain("\x1b[");
  });
});
