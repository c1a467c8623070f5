import { join } from "node:path";
import type { ProbeResult, RunReport } from "../src/core/results/types.js";
import { createFileStateStore, Outbox } from "../src/core/state/index.js";
import { createAvailabilityReporter, DELIVERY_CHUNK, preloadTelemetry } from "../src/core/telemetry/index.js";
import { startIngestionEmulator } from "../src/sandbox/ingestion/index.js";
import { createSandboxCa } from "../src/sandbox/tls/ca.js";
import { formatFigure, ms, verdict } from "./figures.js";

const OUTCOMES = ["pass", "pass", "pass", "pass", "pass", "pass", "fail", "security", "error"] as const;
const PROBES = [
  "token",
  "valid",
  "no-subscription-key",
  "no-token",
  "wrong-audience",
  "expired-token",
  "forged-signature",
  "alg-none",
  "unassigned-client",
] as const;

/**
 * Figure 9: one run of `count` availability results (count / 9 targets) delivered through the
 * reporter, with a state-dir outbox (kept before sent, settled after each batch), to the sandbox's
 * ingestion over HTTPS. The target is that every one arrives exactly once; the time is the figure.
 */
export async function deliveryFigure(workDir: string, count: number): Promise<string> {
  const ca = await createSandboxCa();
  const ingestion = await startIngestionEmulator({ tls: await ca.issueServerCertificate() });
  await preloadTelemetry();
  const reporter = createAvailabilityReporter({
    connectionString: ingestion.connectionString(),
    runLocation: "bench",
    trustedCaPem: ca.certPem,
    flushTimeoutMs: 600_000,
  });
  try {
    const run = syntheticRun(`bench-delivery-${Date.now()}`, count);
    const outbox = new Outbox(createFileStateStore(join(workDir, "delivery-state")));
    const started = performance.now();
    const outcome = await reporter.report(run, { outbox });
    const wallMs = performance.now() - started;
    const ids = ingestion.availability().map((e) => e.data.baseData.id);
    const once = ids.length === count && new Set(ids).size === count;
    const posts = ingestion.requests().length;
    return formatFigure({
      id: 9,
      title: `delivery: one run of ${count} availability results through the reporter, outbox in a state dir, to the sandbox's ingestion (${DELIVERY_CHUNK} a batch)`,
      measured: `${outcome.accepted}/${count} accepted, ${new Set(ids).size} distinct ids received in ${posts} posts; ${ms(wallMs)} (${Math.round((count / wallMs) * 1000)} results/s), outbox left ${outcome.outbox?.pending ?? "?"}`,
      target: "every result accepted, each exactly once, nothing left in the outbox",
      verdicts: [verdict(once && outcome.accepted === count && outcome.outbox?.pending === 0)],
    });
  } finally {
    await reporter.shutdown();
    await ingestion.close();
  }
}

function syntheticRun(runId: string, count: number): RunReport {
  const start = Date.now() - 60_000;
  const results: ProbeResult[] = [];
  const byOutcome = { pass: 0, fail: 0, security: 0, error: 0, blocked: 0, skipped: 0 };
  for (let i = 0; i < count; i++) {
    const outcome = OUTCOMES[i % OUTCOMES.length]!;
    byOutcome[outcome] += 1;
    results.push({
      target: `api-${Math.floor(i / PROBES.length)}`,
      probe: PROBES[i % PROBES.length]!,
      outcome,
      expectedStatuses: [200],
      actualStatus: outcome === "pass" ? 200 : 500,
      durationMs: 120,
      message: `${outcome}`,
      startedAt: new Date(start + i).toISOString(),
    });
  }
  return {
    runId,
    startedAt: new Date(start).toISOString(),
    trigger: "cli",
    results,
    summary: { total: count, byOutcome, ok: false, nothingProven: false, durationMs: 1 },
  };
}
