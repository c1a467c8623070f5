import { describe, expect, it } from "vitest";
import { PROBE_NAMES, type ProbeName } from "../../../src/probe-matrix/names.js";
import { summarize } from "../../../src/core/results/summary.js";
import { describeProgress, renderProgress, renderTable } from "../../../src/core/results/table.js";
import type { Diagnosis, Outcome, ProbeResult, RunReport } from "../../../src/core/results/types.js";

const TENANT = "4f1c2a7e-9d3b-4c5a-8e6f-1a2b3c4d5e6f";
const V1_ISSUER = `https://sts.windows.net/${TENANT}/`;
const V2_ISSUER = `https://login.microsoftonline.com/${TENANT}/v2.0`;
const issuerMismatch: Diagnosis = {
  cause: "issuer-mismatch",
  summary: `valid: v1 token (issuer ${V1_ISSUER}) but the API expects v2 issuer ${V2_ISSUER}`,
  fix: "In the API's app registration manifest set accessTokenAcceptedVersion to 2, then get a new token",
};
const noValidation: Diagnosis = {
  cause: "no-token-validation",
  summary: "no-token got in: nothing validates tokens",
  fix: "Add validate-jwt to the API's inbound policy",
};

function result(target: string, probe: ProbeName, outcome: Outcome, diagnosis?: Diagnosis): ProbeResult {
  return {
    target,
    probe,
    outcome,
    expectedStatuses: probe === "valid" ? [200] : [401],
    ...(outcome === "pass"
      ? { actualStatus: probe === "valid" ? 200 : 401 }
      : outcome === "security"
        ? { actualStatus: 200 }
        : outcome === "fail"
          ? { actualStatus: 401 }
          : {}),
    durationMs: 12,
    message:
      outcome === "fail" ? "expected 2xx, got 401 (Unauthorized. Access token is missing or invalid.)" : "as expected",
    startedAt: "2026-01-01T00:00:00.000Z",
    ...(diagnosis ? { diagnosis } : {}),
  };
}

/** Sixty targets, the whole matrix each; one let a caller without a token in, two fail `valid`. */
function sixtyTargets(): RunReport {
  const results: ProbeResult[] = [];
  for (let t = 0; t < 60; t++) {
    const target = `api-${String(t).padStart(2, "0")}-orders`;
    for (const probe of PROBE_NAMES) {
      if (t === 7 && probe === "no-token") results.push(result(target, probe, "security", noValidation));
      else if ((t === 23 || t === 41) && probe === "valid") results.push(result(target, probe, "fail", issuerMismatch));
      else results.push(result(target, probe, probe === "expired-token" ? "skipped" : "pass"));
    }
  }
  return {
    runId: "r",
    startedAt: "2026-01-01T00:00:00.000Z",
    trigger: "cli",
    results,
    summary: summarize(results, 5000),
  };
}

const report = sixtyTargets();
const ESC = "\x1b";
const plain = (text: string): string => text.replace(new RegExp(`${ESC}\\[[0-9;]*m`, "g"), "");

describe("the table a person reads", () => {
  it("a 60-target run fits on one screen by default, every failure's cause and fix visible", () => {
    const lines = renderTable(report, { color: false, width: 100 }).trimEnd().split("\n");
    expect(lines.length).toBeLessThanOrEqual(45);
    const text = lines.join("\n");
    for (let t = 0; t < 60; t++) expect(text).toContain(`api-${String(t).padStart(2, "0")}-orders`);
    // The failing targets expanded: their rows, cause and fix; no row for a probe that passed.
    expect(text).toMatch(/^api-07-orders\s+no-token\s+security/m);
    expect(text).toMatch(/^api-23-orders\s+valid\s+fail/m);
    expect(text).toMatch(/^api-41-orders\s+valid\s+fail/m);
    expect(text).not.toMatch(/^api-00-orders\s+token\s+pass/m);
    expect(text.match(/-> issuer-mismatch/g)).toHaveLength(2);
    expect(text).toContain("-> no-token-validation");
    expect(text.match(/fix: /g)).toHaveLength(3);
    // The matrix: a glyph a probe, the security one marked S in its column.
    expect(text).toMatch(/api-07-orders \.\.\.\.S\.-\.\.\.\.\./);
    expect(lines.at(-1)).toMatch(/^NOT OK: 720 probes across 60 targets/);
  });

  it("--verbose shows every row; --quiet only the rows that did not pass and the final line", () => {
    const full = renderTable(report, { color: false, width: 100, view: "full" });
    expect(
      full.split("\n").filter((l) => /^api-\d\d-orders\s+\S+\s+(pass|skipped|fail|security)/.test(l)),
    ).toHaveLength(720);
    const quiet = renderTable(report, { color: false, width: 100, view: "quiet" }).trimEnd().split("\n");
    expect(quiet.filter((l) => /^api-\d\d-orders\s/.test(l))).toHaveLength(3);
    expect(quiet.join("\n")).not.toContain("api-00-orders");
    expect(quiet.join("\n")).toContain("fix: Add validate-jwt");
    expect(quiet.at(-1)).toMatch(/^NOT OK/);
  });

  it("in the summary, probes blocked by a failed token are B in the matrix, the token's row says why once", () => {
    const secret: Diagnosis = {
      cause: "invalid-client-secret",
      summary: "Entra refused the client secret",
      fix: "Use the secret's Value",
    };
    const results = report.results.map((r) =>
      r.target !== "api-50-orders" || r.outcome === "skipped"
        ? r
        : r.probe === "token"
          ? { ...r, outcome: "fail" as const, diagnosis: secret }
          : {
              ...r,
              outcome: "blocked" as const,
              blockedBy: "token",
              diagnosis: secret,
              message: "blocked by token: invalid-client-secret",
            },
    );
    const blocked = { ...report, results, summary: summarize(results, 1) };
    const text = renderTable(blocked, { color: false, width: 100 });
    expect(text).toMatch(/^api-50-orders\s+token\s+fail/m);
    expect(text).not.toMatch(/^api-50-orders\s+\S+\s+blocked/m);
    expect(text).toMatch(/api-50-orders FBBBBB-BBBBB/);
    expect(text.match(/-> invalid-client-secret/g)).toHaveLength(1);
    // Four failing targets, two causes wrapped over several lines each: still one 50-line screen.
    expect(text.trimEnd().split("\n").length).toBeLessThanOrEqual(50);
    expect(renderTable(blocked, { color: false, width: 100, view: "full" })).toMatch(
      /^api-50-orders\s+valid\s+blocked/m,
    );
  });

  it("a few targets: every row, as before", () => {
    const small = { ...report, results: report.results.filter((r) => r.target === "api-23-orders") };
    const text = renderTable({ ...small, summary: summarize(small.results, 1) }, { color: false, width: 100 });
    expect(text.split("\n").filter((l) => l.startsWith("api-23-orders"))).toHaveLength(12);
  });

  it("cause and fix lines in normal weight: not dim", () => {
    const coloured = renderTable(report, { color: true, width: 100 }).split("\n");
    const causeAndFix = coloured.filter((l) => /^\s+(-> |fix: )/.test(plain(l)));
    expect(causeAndFix.length).toBeGreaterThan(0);
    for (const line of causeAndFix) expect(line).not.toContain(`${ESC}[2m`);
  });

  it.each([40, 60, 80, 100, 160])(
    "at width %i, URLs are never broken inside; one layout rule for the detail",
    (width) => {
      const lines = plain(renderTable(report, { color: true, width, view: "quiet" })).split("\n");
      for (const url of [V1_ISSUER, V2_ISSUER]) expect(lines.some((l) => l.includes(url))).toBe(true);
      // The detail starts on the row or, when the row leaves no room for its first word, under it at the detail indent.
      const row = lines.findIndex((l) => /^api-23-orders\s+valid\s+fail/.test(l));
      const detailStart = `${lines[row]}\n${lines[row + 1]}`;
      expect(detailStart).toMatch(/fail\s.*(expected|\n {4}expected)/s);
      // Wrapped lines never exceed the width, except a URL longer than the width, which stands alone at the margin
      // (the rows and the final line are one line each, for grep).
      for (const line of lines)
        if (line.length > width && !/^(api-|target|OK|NOT OK)/.test(line)) expect(line).toMatch(/^https:\/\/\S+$/);
    },
  );
});

describe("the progress line", () => {
  it("counts passed, failed and security so far, not the last probe's name", () => {
    const line = renderProgress({ done: 37, total: 144, passed: 30, failed: 6, security: 1 });
    expect(line).toContain("37/144 probes: 30 passed, 6 failed, 1 security");
    expect(describeProgress({ done: 0, total: 12, passed: 0, failed: 0, security: 0 })).toBe(
      "0/12 probes: 0 passed, 0 failed, 0 security",
    );
  });
});
