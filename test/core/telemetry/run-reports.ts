import { PROBE_NAMES } from "../../../src/probe-matrix/names.js";
import type { ProbeResult, RunReport } from "../../../src/core/results/types.js";

/** Marks values that must never leave the process in telemetry. */
export const CANARY = "CANARY-7f3e2d1c";
/** A JWT-shaped string (header `{"alg":"RS256"}`), standing in for a token quoted in an error text. */
export const FAKE_JWT = `eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIke${CANARY}In0.c2lnbmF0dXJl`;

export function result(overrides: Partial<ProbeResult> & Pick<ProbeResult, "probe" | "outcome">): ProbeResult {
  return {
    target: "orders",
    expectedStatuses: [200],
    durationMs: 100,
    message: `${overrides.outcome}: as expected`,
    startedAt: "2025-01-02T03:04:05.000Z",
    ...overrides,
  };
}

/**
 * Five results: pass, security, blocked, fail, skipped. Fields the product must not send carry the
 * canary (APIM message, diagnosis evidence, token client); the `fail` message quotes a
 * token, which must arrive redacted.
 */
export function sampleRun(runId = "run-0001"): RunReport {
  const results: ProbeResult[] = [
    result({
      probe: "valid",
      outcome: "pass",
      actualStatus: 200,
      durationMs: 1234.5,
      message: "200 as expected",
      requestId: "req-valid-1",
      token: {
        aud: "api://orders-api",
        iss: "https://sts.windows.net/t/",
        ver: "1.0",
        roles: ["Api.Access", "Api.Read"],
        kid: "kid-1",
        client: CANARY,
        exp: 1,
      },
      apimMessage: CANARY,
    }),
    result({
      probe: "no-token",
      outcome: "security",
      expectedStatuses: [401, 403],
      actualStatus: 200,
      durationMs: 45,
      message: "expected 401,403, got 200: the gateway let a caller without a token in",
      diagnosis: {
        cause: "gateway-open",
        summary: "A request without a token got 200: validate-jwt is missing.",
        fix: "Add validate-jwt to the API's inbound policy.",
        evidence: { header: CANARY },
      },
    }),
    result({
      probe: "wrong-audience",
      outcome: "blocked",
      expectedStatuses: [401],
      durationMs: 0,
      message: "blocked: no token for the wrong audience\nsecond line",
      diagnosis: { cause: "TOKEN_ACQUISITION_FAILED", summary: "s", fix: "f" },
    }),
    result({
      probe: "forged-signature",
      outcome: "fail",
      expectedStatuses: [401],
      actualStatus: 500,
      durationMs: 90_061_001,
      message: `expected 401, got 500; backend echoed Bearer ${FAKE_JWT}`,
      token: { aud: ["a1", "a2"] },
    }),
    result({
      probe: "expired-token",
      outcome: "skipped",
      expectedStatuses: [401],
      durationMs: 0,
      message: "no expired token yet",
    }),
  ];
  return {
    runId,
    startedAt: "2025-01-02T03:04:05.000Z",
    trigger: "timer",
    source: "probe-eu",
    results,
    summary: {
      total: results.length,
      byOutcome: { pass: 1, fail: 1, security: 1, error: 0, blocked: 1, skipped: 1 },
      ok: false,
      nothingProven: false,
      durationMs: 2000,
    },
  };
}

const BIG_RUN_OUTCOMES = ["pass", "pass", "pass", "pass", "pass", "pass", "fail", "security", "error"] as const;

/** `n` results of `n / 9` targets (nine probes each, mostly passes), one second apart from `startedAt`. */
export function bigRun(runId: string, n: number, startedAt = new Date(Date.now() - 60_000).toISOString()): RunReport {
  const start = Date.parse(startedAt);
  const results: ProbeResult[] = [];
  for (let i = 0; i < n; i++) {
    const outcome = BIG_RUN_OUTCOMES[i % BIG_RUN_OUTCOMES.length]!;
    results.push(
      result({
        target: `t${Math.floor(i / 9)}`,
        probe: PROBE_NAMES[i % 9]!,
        outcome,
        actualStatus: outcome === "pass" ? 200 : 500,
        message: `${outcome} ${i}`,
        startedAt: new Date(start + i).toISOString(),
      }),
    );
  }
  const byOutcome = { pass: 0, fail: 0, security: 0, error: 0, blocked: 0, skipped: 0 };
  for (const r of results) byOutcome[r.outcome] += 1;
  return {
    runId,
    startedAt,
    trigger: "timer",
    results,
    summary: { total: n, byOutcome, ok: false, nothingProven: false, durationMs: 1 },
  };
}
