import { createProbeEngine, type ProbeEngine } from "../../core/probes/engine.js";
import type { RunOptions } from "../../core/probes/runner.js";
import type { RunReport } from "../../core/results/types.js";
import { loadSettings, type SettingsEnv } from "../../core/settings/load-settings.js";
import type { ProbeConfig } from "../../core/settings/types.js";
import { createAvailabilityReporter, type AvailabilityReporter, type TelemetryLogger, type TelemetryOutcome } from "../../core/telemetry/index.js";

/**
 * host.json's functionTimeout is 10 minutes. A run gets 8 of them and telemetry's flush at most one
 * more, so an invocation always returns before the host kills it (a killed invocation sends nothing).
 * test/functions/host-json.test.ts keeps these numbers and host.json in step.
 */
export const RUN_BUDGET_MS = 8 * 60_000;
export const TELEMETRY_FLUSH_TIMEOUT_MS = 60_000;

/** Where a result's location comes from when PROBE_RUN_LOCATION is not set and not running in Azure. */
const FALLBACK_RUN_LOCATION = "local";

export interface ProbeRuntime {
  readonly config: ProbeConfig;
  readonly targetNames: readonly string[];
  run(options: RunOptions & { logger: TelemetryLogger }): Promise<{ report: RunReport; telemetry?: TelemetryOutcome }>;
}

/**
 * The long-lived state of the worker: settings validated once, one engine (warm MSAL cache, the
 * expired-token store) and one telemetry client shared by every invocation. Built on first use so a
 * bad setting fails the invocation with a message naming it, instead of failing the host's indexing.
 */
export function createProbeRuntime(env: SettingsEnv): ProbeRuntime {
  const config = loadSettings(env);
  const engine: ProbeEngine = createProbeEngine(config);
  const connectionString = env.APPLICATIONINSIGHTS_CONNECTION_STRING;
  let reporter: AvailabilityReporter | undefined;
  let reporterLogger: TelemetryLogger | undefined;
  const runLocation = config.runLocation ?? FALLBACK_RUN_LOCATION;

  return {
    config,
    targetNames: config.targets.map((t) => t.name),
    async run({ logger, ...options }) {
      const report = await engine.run({ runBudgetMs: RUN_BUDGET_MS, ...options });
      if (!connectionString) return { report };
      // The reporter logs through whichever invocation is current: contexts are per invocation.
      reporterLogger = logger;
      reporter ??= createAvailabilityReporter({
        connectionString,
        runLocation,
        flushTimeoutMs: TELEMETRY_FLUSH_TIMEOUT_MS,
        logger: { info: (m, f) => reporterLogger?.info(m, f), warn: (m, f) => reporterLogger?.warn(m, f) },
        ...(isLoopbackEndpoint(connectionString) && config.extraCaPem.length > 0 ? { trustedCaPem: config.extraCaPem.join("\n") } : {}),
      });
      return { report, telemetry: await reporter.report(report) };
    },
  };
}

/** The sandbox's CA is trusted only for a loopback (sandbox) ingestion endpoint: it replaces the public roots. */
function isLoopbackEndpoint(connectionString: string): boolean {
  const endpoint = /IngestionEndpoint=([^;]+)/i.exec(connectionString)?.[1];
  if (!endpoint) return false;
  try {
    const host = new URL(endpoint).hostname;
    return host === "127.0.0.1" || host === "localhost" || host === "[::1]";
  } catch {
    return false;
  }
}

let shared: ProbeRuntime | undefined;

/** The worker's runtime, from process settings; rebuilt after a settings failure so a fixed app setting takes effect. */
export function sharedProbeRuntime(env: SettingsEnv = process.env): ProbeRuntime {
  shared ??= createProbeRuntime(env);
  return shared;
}

/** For tests: forget the shared runtime so the next invocation reads settings again. */
export function resetSharedProbeRuntime(): void {
  shared = undefined;
}
