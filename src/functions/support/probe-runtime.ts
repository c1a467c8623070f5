import { createProbeEngine, type ProbeEngine } from "../../core/probes/engine.js";
import type { RunOptions } from "../../core/probes/runner.js";
import type { RunReport } from "../../core/results/types.js";
import { loadSettings } from "../../core/settings/load-settings.js";
import type { SettingsEnv } from "../../core/settings/settings-sources.js";
import { describeDamaged, stateInAppStorage } from "../../core/state/index.js";
import type { ProbeConfig } from "../../core/settings/types.js";
import {
  createAvailabilityReporter,
  deliveryReport,
  ingestionTrustedCa,
  preloadTelemetry,
  type AvailabilityReporter,
  type TelemetryLogger,
  type TelemetryOutcome,
} from "../../core/telemetry/index.js";

/**
 * host.json's functionTimeout is 10 minutes. A run gets 8 of them and telemetry's flush at most one
 * more, so an invocation always returns before the host kills it (a killed invocation sends nothing).
 * test/functions/host-json.test.ts keeps these numbers and host.json in step.
 */
export const RUN_BUDGET_MS = 8 * 60_000;
export const TELEMETRY_FLUSH_TIMEOUT_MS = 60_000;

/**
 * An HTTP-triggered function must answer within 230 s whatever functionTimeout says (docs/REFERENCE.md §5):
 * past that the front end drops the caller while the run goes on. The on-demand run gets what is
 * left after the telemetry flush, with a margin for settings, response and logging.
 */
export const HTTP_RESPONSE_LIMIT_MS = 230_000;
export const HTTP_RUN_BUDGET_MS = HTTP_RESPONSE_LIMIT_MS - TELEMETRY_FLUSH_TIMEOUT_MS - 10_000;

/** Where a result's location comes from when PROBE_RUN_LOCATION is not set and not running in Azure. */
const FALLBACK_RUN_LOCATION = "local";

export interface ProbeRuntime {
  readonly config: ProbeConfig;
  readonly targetNames: readonly string[];
  run(options: RunOptions & { logger: TelemetryLogger }): Promise<{ report: RunReport; telemetry?: TelemetryOutcome }>;
  /** Sends nothing more: closes the engine's connections and shuts the telemetry client down. */
  close(): Promise<void>;
}

/**
 * The long-lived state of the worker: settings validated once, one engine (warm MSAL cache, the
 * expired-token store) and one telemetry client shared by every invocation. Built on first use so a
 * bad setting fails the invocation with a message naming it, instead of failing the host's indexing.
 */
export function createProbeRuntime(env: SettingsEnv): ProbeRuntime {
  const config = loadSettings(env);
  // A misspelt PROBE_* app setting is ignored, so the run uses a default: say so in the host's log.
  for (const warning of config.settingWarnings ?? []) WORKER_CONSOLE_LOGGER.warn(`Probe settings: ${warning}`);
  const connectionString = env.APPLICATIONINSIGHTS_CONNECTION_STRING;
  // Built here, not after the first run: a malformed connection string is a settings error
  // (SettingsError naming APPLICATIONINSIGHTS_CONNECTION_STRING) reported before anything is probed,
  // instead of an exception thrown after the run that loses every result. The SDK itself still
  // loads lazily (availability-sender.ts), so this costs nothing.
  const reporter: AvailabilityReporter | undefined = connectionString
    ? createAvailabilityReporter({
        connectionString,
        runLocation: config.runLocation ?? FALLBACK_RUN_LOCATION,
        flushTimeoutMs: TELEMETRY_FLUSH_TIMEOUT_MS,
        // Each report logs to its own invocation (below); this one only hears the client's start-up,
        // which belongs to no invocation: the worker's console goes to the host's log.
        logger: WORKER_CONSOLE_LOGGER,
        ...withTrustedCa(connectionString, config.extraCaPem),
        ...(config.ingestionAuth ? { ingestionAuth: config.ingestionAuth } : {}),
      })
    : undefined;
  // The app's own storage account (AzureWebJobsStorage) keeps the outbox, the sealed harvest and
  // the token summaries: instances are recycled and scale to zero, memory is not enough.
  const state = stateInAppStorage(env, config);
  const engine: ProbeEngine = createProbeEngine(config, state ? { state } : {});

  return {
    config,
    targetNames: config.targets.map((t) => t.name),
    async run({ logger, ...options }) {
      if (reporter) {
        // `applicationinsights` is loaded on the first run, not while the worker indexes the app.
        // Its ~1 s synchronous load must finish before the first timed request, or it
        // would stall the event loop inside the requests and inflate every duration: wait for it.
        // A failed load is the reporter's to report after the run, not a reason to skip probing.
        await preloadTelemetry().catch(() => undefined);
      }
      // PROBE_RUN_BUDGET_MS can shorten the run, never lengthen it past what the host and the HTTP front end allow.
      const runBudgetMs = Math.min(options.runBudgetMs ?? RUN_BUDGET_MS, config.runBudgetMs ?? RUN_BUDGET_MS);
      const report = await engine.run({
        ...options,
        runBudgetMs,
        onStateProblem: (problem) => logger.warn(`Probe state: ${problem}`),
      });
      for (const damaged of state?.takeDamaged() ?? []) logger.warn(`Probe state: ${describeDamaged(damaged)}`);
      if (!reporter) return { report };
      const telemetry = await reporter.report(report, { logger, ...(state ? { outbox: state.outbox } : {}) });
      // The HTTP trigger's answer carries it, like the CLI's JSON.
      if (telemetry.tracked > 0 || telemetry.outbox) report.delivery = deliveryReport(telemetry);
      return { report, telemetry };
    },
    async close() {
      await Promise.allSettled([engine.close(), reporter?.shutdown()]);
    },
  };
}

const WORKER_CONSOLE_LOGGER: TelemetryLogger = {
  info: (message, fields) => console.info(message, fields ?? ""),
  warn: (message, fields) => console.warn(message, fields ?? ""),
};

function withTrustedCa(connectionString: string, extraCaPem: readonly string[]): { trustedCaPem?: string } {
  const trustedCaPem = ingestionTrustedCa(connectionString, extraCaPem);
  return trustedCaPem ? { trustedCaPem } : {};
}

let shared: ProbeRuntime | undefined;

/** The worker's runtime, from process settings; rebuilt after a settings failure so a fixed app setting takes effect. */
export function sharedProbeRuntime(env: SettingsEnv = process.env): ProbeRuntime {
  shared ??= createProbeRuntime(env);
  return shared;
}

/** For tests: forget the shared runtime so the next invocation reads settings again; resolves once the old one is closed. */
export async function resetSharedProbeRuntime(): Promise<void> {
  const previous = shared;
  shared = undefined;
  await previous?.close();
}
