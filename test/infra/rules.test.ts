import { describe, expect, it } from "vitest";
import { PROBE_NAMES, REJECTING_PROBES, type ProbeName } from "../../src/probe-matrix/names.js";
import type { Outcome, RunReport } from "../../src/core/results/types.js";
import {
  ALL_LOCATIONS,
  apiDownFindings,
  evaluateAlertRules,
  firedRules,
  parseEnvelopeDuration,
  probeSilentFindings,
  rowFromAvailabilityEnvelope,
  rowsFromRunReport,
  securityRegressionFindings,
  tokenDriftFindings,
  tokenEndpointFindings,
  DEFAULT_ALERT_PARAMETERS,
  type AvailabilityRow,
} from "./rules.js";

const MINUTE = 60_000;
const NOW = Date.parse("2025-06-01T12:00:00.000Z");
let runCounter = 0;

/** The rows of one run of the whole matrix, `minutesAgo` before NOW; `outcomes` overrides pass. */
function run(
  minutesAgo: number,
  outcomes: Partial<Record<ProbeName, Outcome>> = {},
  options: { location?: string; target?: string; cause?: Partial<Record<ProbeName, string>>; message?: string } = {},
): AvailabilityRow[] {
  const runId = `run-${++runCounter}`;
  const target = options.target ?? "orders";
  return PROBE_NAMES.map((probe) => {
    const outcome = outcomes[probe] ?? "pass";
    const cause = options.cause?.[probe];
    return {
      id: `${runId}/${target}/${probe}`,
      timestamp: new Date(NOW - minutesAgo * MINUTE).toISOString(),
      name: `${target}/${probe}`,
      location: options.location ?? "westeurope",
      success: outcome === "pass",
      message: options.message ?? `${probe}: ${outcome}`,
      duration: 120,
      customDimensions: { target, probe, outcome, runId, trigger: "timer", ...(cause ? { cause } : {}) },
      operation_Id: runId,
    };
  }).filter((r) => r.customDimensions.outcome !== "skipped");
}

/** A fail-open gateway: every probe that must be refused got in. */
const FAIL_OPEN = Object.fromEntries(REJECTING_PROBES.map((p) => [p, "security"])) as Partial<Record<ProbeName, Outcome>>;

describe("the rules on a healthy and a fail-open gateway", () => {
  const healthy = [...run(12), ...run(7), ...run(2)];

  it("healthy: no rule fires", () => {
    expect(firedRules(healthy, NOW)).toEqual([]);
  });

  it("fail-open: the security rule fires (severity 0) for every rejecting probe, the API is not down", () => {
    const rows = [...run(12), ...run(7), ...run(2, FAIL_OPEN)];
    const evaluation = evaluateAlertRules(rows, NOW);
    const security = evaluation.find((e) => e.rule === "gateway-security-regression")!;
    expect(security).toMatchObject({ fired: true, severity: 0 });
    expect(securityRegressionFindings(rows, NOW).map((f) => f.probe).sort()).toEqual([...REJECTING_PROBES].sort());
    expect(evaluation.filter((e) => e.fired).map((e) => e.rule)).toEqual(["gateway-security-regression"]);
  });

  it("fires on the first occurrence: one security result from one probe is enough", () => {
    const rows = [...healthy, ...run(1, { "alg-none": "security" })];
    expect(securityRegressionFindings(rows, NOW)).toEqual([
      { target: "orders", probe: "alg-none", results: 1, locations: ["westeurope"], actualStatuses: [""] },
    ]);
  });

  it("forgets a security result that arrived more than 10 minutes ago (the alert already fired for it)", () => {
    expect(securityRegressionFindings(run(11, FAIL_OPEN), NOW)).toEqual([]);
    expect(securityRegressionFindings(run(9, FAIL_OPEN), NOW)).not.toEqual([]);
  });
});

describe("api-down: N consecutive runs", () => {
  it("does not fire on one failed run of two (default N = 2)", () => {
    expect(apiDownFindings([...run(7), ...run(2, { valid: "fail" })], NOW)).toEqual([]);
  });

  it("fires when the last two runs failed, for valid or for token", () => {
    expect(apiDownFindings([...run(7, { valid: "fail" }), ...run(2, { valid: "error" })], NOW)).toEqual([
      { target: "orders", failingLocations: 1, locations: 1, downLocations: ["westeurope"] },
    ]);
    const tokenDown = [...run(7, { token: "fail", valid: "blocked" }), ...run(2, { token: "fail", valid: "blocked" })];
    expect(apiDownFindings(tokenDown, NOW)).toHaveLength(1);
  });

  it("needs the failures to be consecutive and the latest", () => {
    expect(apiDownFindings([...run(12, { valid: "fail" }), ...run(7), ...run(2, { valid: "fail" })], NOW)).toEqual([]);
    expect(apiDownFindings([...run(12, { valid: "fail" }), ...run(7, { valid: "fail" }), ...run(2)], NOW)).toEqual([]);
  });

  it("ignores rejecting probes and runs older than the lookback", () => {
    expect(apiDownFindings([...run(7, FAIL_OPEN), ...run(2, { "no-token": "fail" })], NOW)).toEqual([]);
    // Lookback = (2 + 1) x 5 + 10 (ingestion delay) = 25 minutes: a run 26 minutes ago does not count.
    expect(apiDownFindings([...run(26, { valid: "fail" }), ...run(2, { valid: "fail" })], NOW)).toEqual([]);
  });

  it("respects N: with N = 3, two failed runs are not enough", () => {
    const rows = [...run(17), ...run(12, { valid: "fail" }), ...run(7, { valid: "fail" })];
    const params = { scheduleMinutes: 5, downConsecutiveRuns: 3, downMinFailingLocations: 1, ingestionDelayMinutes: 10 };
    expect(apiDownFindings(rows, NOW, params)).toEqual([]);
    expect(apiDownFindings([...rows, ...run(2, { valid: "fail" })], NOW, params)).toHaveLength(1);
  });

  it("splits by target: one target down does not take the other with it", () => {
    const rows = [
      ...run(7, { valid: "fail" }, { target: "orders" }),
      ...run(2, { valid: "fail" }, { target: "orders" }),
      ...run(7, {}, { target: "billing" }),
      ...run(2, {}, { target: "billing" }),
    ];
    expect(apiDownFindings(rows, NOW).map((f) => f.target)).toEqual(["orders"]);
  });
});

describe("api-down: N of M locations", () => {
  const params = { scheduleMinutes: 5, downConsecutiveRuns: 1, downMinFailingLocations: 2, ingestionDelayMinutes: 10 };
  const at = (location: string, failed: boolean): AvailabilityRow[] => run(2, failed ? { valid: "fail" } : {}, { location });

  it("does not fire when only one of three locations fails (a regional network problem)", () => {
    expect(apiDownFindings([...at("westeurope", true), ...at("eastus", false), ...at("japaneast", false)], NOW, params)).toEqual([]);
  });

  it("fires when two of three locations fail, and names them", () => {
    const findings = apiDownFindings([...at("westeurope", true), ...at("eastus", true), ...at("japaneast", false)], NOW, params);
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ failingLocations: 2, locations: 3 });
    expect([...findings[0]!.downLocations].sort()).toEqual(["eastus", "westeurope"]);
  });
});

describe("probe-silent: a dead probe must not look healthy", () => {
  it("fires on an empty window: no results at all is an alert, not an absence of one", () => {
    expect(probeSilentFindings([], NOW)).toEqual([{ location: ALL_LOCATIONS }]);
    expect(evaluateAlertRules([], NOW).find((e) => e.rule === "probe-silent")).toMatchObject({ fired: true, severity: 1 });
  });

  it("stays quiet while results arrive every period", () => {
    expect(probeSilentFindings([...run(12), ...run(7), ...run(2)], NOW)).toEqual([]);
  });

  it("fires after three silent periods and the ingestion-delay margin, not before", () => {
    expect(probeSilentFindings(run(24), NOW)).toEqual([]);
    const silent = probeSilentFindings(run(25), NOW);
    expect(silent.map((f) => f.location).sort()).toEqual([ALL_LOCATIONS, "westeurope"].sort());
  });

  it("names the one location that went silent while another keeps reporting", () => {
    const rows = [...run(40, {}, { location: "eastus" }), ...run(2, {}, { location: "westeurope" })];
    expect(probeSilentFindings(rows, NOW)).toEqual([{ location: "eastus", lastResult: new Date(NOW - 40 * MINUTE).toISOString() }]);
  });
});

describe("token-endpoint: blocked by Entra ID", () => {
  it("fires (severity 2) for probes blocked with an AADSTS cause, by target and cause", () => {
    const blocked = Object.fromEntries(PROBE_NAMES.filter((p) => p !== "token").map((p) => [p, "blocked"])) as Partial<Record<ProbeName, Outcome>>;
    const cause = Object.fromEntries(PROBE_NAMES.map((p) => [p, "client-secret-expired"]));
    const rows = run(2, { ...blocked, token: "fail" }, { cause });
    const findings = tokenEndpointFindings(rows, NOW);
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ target: "orders", cause: "client-secret-expired", results: PROBE_NAMES.length - 1 });
    expect(evaluateAlertRules(rows, NOW).find((e) => e.rule === "token-endpoint")).toMatchObject({ fired: true, severity: 2 });
  });

  it("counts a blocked result whatever its cause: token failures without an AADSTS code too", () => {
    for (const cause of ["token-request-failed", "invalid-client-assertion", "managed-identity-unavailable", "token-endpoint-unavailable"]) {
      const rows = run(2, { "unassigned-client": "blocked" }, { cause: { "unassigned-client": cause }, message: "blocked by unassigned client's token" });
      expect(tokenEndpointFindings(rows, NOW).map((f) => f.cause), cause).toEqual([cause]);
    }
  });

  it("ignores failures that were not blocked", () => {
    expect(tokenEndpointFindings(run(2, { token: "fail" }, { cause: { token: "invalid-client-secret" } }), NOW)).toEqual([]);
    expect(tokenEndpointFindings(run(2, { valid: "fail" }, { cause: { valid: "tls-error" } }), NOW)).toEqual([]);
  });
});

describe("rows from what the probe produces", () => {
  const report: RunReport = {
    runId: "run-42",
    startedAt: "2025-06-01T11:58:00.000Z",
    trigger: "timer",
    results: [
      { target: "orders", probe: "valid", outcome: "pass", expectedStatuses: [200], actualStatus: 200, durationMs: 80, message: "200 as expected", startedAt: "2025-06-01T11:58:00.100Z" },
      { target: "orders", probe: "no-token", outcome: "security", expectedStatuses: [401], actualStatus: 200, durationMs: 70, message: "expected 401, got 200", startedAt: "2025-06-01T11:58:00.200Z", requestId: "req-1" },
      { target: "orders", probe: "expired-token", outcome: "skipped", expectedStatuses: [401], durationMs: 0, message: "no expired token yet", startedAt: "2025-06-01T11:58:00.300Z" },
    ],
    summary: { total: 3, byOutcome: { pass: 1, fail: 0, security: 1, error: 0, blocked: 0, skipped: 1 }, ok: false, nothingProven: false, durationMs: 300 },
  };

  it("turns a run report into availabilityResults rows, without the skipped results", () => {
    const rows = rowsFromRunReport(report, "westeurope");
    expect(rows.map((r) => r.name)).toEqual(["orders/valid", "orders/no-token"]);
    expect(rows[1]).toMatchObject({ success: false, location: "westeurope", customDimensions: { outcome: "security", actualStatus: "200", runId: "run-42", requestId: "req-1" } });
    expect(firedRules(rows, Date.parse("2025-06-01T12:00:00Z"))).toContain("gateway-security-regression");
  });

  it("turns an AvailabilityData envelope into a row", () => {
    const row = rowFromAvailabilityEnvelope({
      time: "2025-06-01T11:58:00.000Z",
      tags: { "ai.operation.id": "run-42" },
      data: {
        baseType: "AvailabilityData",
        baseData: { name: "orders/no-token", duration: "00:00:01.250", success: false, runLocation: "westeurope", message: "m", properties: { outcome: "security", target: "orders", probe: "no-token" } },
      },
    });
    expect(row).toMatchObject({ name: "orders/no-token", duration: 1250, location: "westeurope", operation_Id: "run-42", customDimensions: { outcome: "security" } });
  });

  it("parses envelope durations, with days", () => {
    expect(parseEnvelopeDuration("1.02:03:04.5")).toBe(((24 + 2) * 3600 + 3 * 60 + 4) * 1000 + 500);
    expect(() => parseEnvelopeDuration("1250")).toThrow(RangeError);
  });
});

describe("rules that hold under ingestion delay, in a shared resource, and for late results", () => {
  const oneMinute = { ...DEFAULT_ALERT_PARAMETERS, scheduleMinutes: 1 };
  /** Runs every minute over the last `minutes`, each result queryable `delayMinutes` after its time. */
  const delayed = (minutes: number, delayMinutes: number, outcomes: Partial<Record<ProbeName, Outcome>> = {}): AvailabilityRow[] =>
    Array.from({ length: minutes }, (_, i) => run(i + 1, outcomes)).flatMap((rows) =>
      rows.map((r) => ({ ...r, ingestedAt: new Date(Date.parse(r.timestamp) + delayMinutes * MINUTE).toISOString() })),
    );
  // 24 evaluations, one a minute, each with its own view of what has arrived.
  const evaluations = Array.from({ length: 24 }, (_, i) => NOW + i * MINUTE);
  const at = (rows: AvailabilityRow[], shift: number) => rows.map((r) => ({ ...r, timestamp: new Date(Date.parse(r.timestamp) + shift).toISOString(), ingestedAt: new Date(Date.parse(r.ingestedAt!) + shift).toISOString() }));

  it("api-down fires in every evaluation of an outage when results arrive 2 minutes late, at a 1-minute schedule", () => {
    const outage = delayed(40, 2, { valid: "fail" });
    const fired = evaluations.filter((now) => apiDownFindings(at(outage, now - NOW), now, oneMinute).length > 0);
    expect(fired).toHaveLength(24);
  });

  it("probe-silent never fires on a healthy probe whose results arrive 2 minutes late", () => {
    const healthy = delayed(40, 2);
    const fired = evaluations.filter((now) => probeSilentFindings(at(healthy, now - NOW), now, oneMinute).length > 0);
    expect(fired).toEqual([]);
  });

  it("another availability test in the same resource does not keep a dead probe looking alive", () => {
    const dead = run(60);
    const standardTest: AvailabilityRow = {
      timestamp: new Date(NOW - MINUTE).toISOString(),
      name: "home page ping",
      location: "westeurope",
      success: true,
      message: "",
      duration: 80,
      customDimensions: { WebtestLocationId: "emea-nl-ams-azr" },
    };
    expect(probeSilentFindings([...dead, standardTest], NOW).map((f) => f.location).sort()).toEqual([ALL_LOCATIONS, "westeurope"].sort());
  });

  it("a security result delivered hours late from the outbox, with its own old time, still fires on arrival", () => {
    const late = run(180, { "no-token": "security" }).map((r) => ({ ...r, ingestedAt: new Date(NOW - MINUTE).toISOString() }));
    expect(securityRegressionFindings(late, NOW).map((f) => f.probe)).toEqual(["no-token"]);
  });

  it("token-drift fires on a role removed or a version changed, not on a signing key alone", () => {
    const withDrift = (drift: string) => run(1).map((r) => (r.customDimensions.probe === "token" ? { ...r, customDimensions: { ...r.customDimensions, tokenDrift: drift } } : r));
    expect(tokenDriftFindings(withDrift("roles-removed"), NOW)).toEqual([{ target: "orders", results: 1, changes: ["roles-removed"] }]);
    expect(tokenDriftFindings(withDrift("version,issuer"), NOW)).toHaveLength(1);
    expect(tokenDriftFindings(withDrift("signing-key"), NOW)).toEqual([]);
    expect(tokenDriftFindings(withDrift("roles-added"), NOW)).toEqual([]);
  });
});

describe("a result id that arrives twice (at least once after a crash) changes no alert decision", () => {
  const drift = (rows: AvailabilityRow[]) => rows.map((r) => (r.customDimensions.probe === "token" ? { ...r, customDimensions: { ...r.customDimensions, tokenDrift: "roles-removed" } } : r));
  const scenarios: [string, AvailabilityRow[]][] = [
    ["healthy", [...run(12), ...run(7), ...run(2)]],
    ["fail-open", [...run(12), ...run(7), ...run(2, FAIL_OPEN)]],
    ["one security result", [...run(7), ...run(2, { "alg-none": "security" })]],
    ["api down", [...run(12), ...run(7, { valid: "fail" }), ...run(2, { valid: "fail" })]],
    ["api down then up", [...run(12, { valid: "fail" }), ...run(7, { valid: "fail" }), ...run(2)]],
    ["token endpoint", [...run(7), ...run(2, { valid: "blocked", "no-token": "blocked" }, { cause: { valid: "AADSTS7000215", "no-token": "AADSTS7000215" } })]],
    ["token drift", [...run(7), ...drift(run(2))]],
    ["silent for an hour", run(60)],
  ];
  // The same batch once more: at once (the next CLI run), or when a claim lapses (15 min), or much later.
  const delays = [0, 1, 5, 15, 16, 30, 45];
  const evaluations = Array.from({ length: 90 }, (_, i) => NOW + i * MINUTE);
  const arrival = (r: AvailabilityRow) => Date.parse(r.ingestedAt ?? r.timestamp);

  it.each(scenarios)("%s: every evaluation over 90 minutes decides the same with every result sent twice", (_name, rows) => {
    for (const delay of delays) {
      const twice = [...rows, ...rows.map((r) => ({ ...r, ingestedAt: new Date(arrival(r) + delay * MINUTE).toISOString() }))];
      for (const now of evaluations) {
        expect({ delay, now: new Date(now).toISOString(), fired: firedRules(twice, now) }).toEqual({ delay, now: new Date(now).toISOString(), fired: firedRules(rows, now) });
      }
    }
  });

  it("a security result counts once in the finding, at its first arrival", () => {
    const once = run(2, { "alg-none": "security" });
    const twice = [...once, ...once.map((r) => ({ ...r, ingestedAt: new Date(NOW - MINUTE).toISOString() }))];
    expect(securityRegressionFindings(twice, NOW)).toEqual(securityRegressionFindings(once, NOW));
    expect(securityRegressionFindings(twice, NOW)[0]?.results).toBe(1);
  });
});

describe("log alert queries take timespan literals in ago()", () => {
  it("no alert query passes a variable to ago()", async () => {
    const { readdirSync, readFileSync } = await import("node:fs");
    for (const file of readdirSync("infra/kql").filter((f) => f.startsWith("alert-"))) {
      const text = readFileSync(`infra/kql/${file}`, "utf8").replace(/\/\/.*$/gm, "");
      for (const [, arg] of text.matchAll(/ago\(([^)]*)\)/g)) expect(arg, file).toMatch(/^\d+(d|h|m|s)$/);
    }
  });
});
