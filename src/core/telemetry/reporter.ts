import { randomUUID } from "node:crypto";
import type { TelemetryClient } from "applicationinsights";
import { SettingsError } from "../errors.js";
import type { RunReport } from "../results/types.js";
import { toAvailabilityItems, type AvailabilityItem } from "./availability.js";
import { createIngestionObserver, type IngestionObserver } from "./ingestionObserver.js";
import { disableBackgroundTelemetry, loadApplicationInsights, stopRemoteConfigurationPolling } from "./sdk.js";

export interface TelemetryLogger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
}

export interface AvailabilityReporterOptions {
  /** `APPLICATIONINSIGHTS_CONNECTION_STRING`. */
  connectionString: string;
  /** `location` of every result, e.g. the Function app's region or `sandbox`. */
  runLocation: string;
  /** `cloud_RoleName`; default `apim-smoke-probe`. */
  roleName?: string;
  /**
   * PEM of a CA to trust for the ingestion endpoint, e.g. the sandbox CA. Applied only to this
   * reporter's exporter (core-rest-pipeline `tlsOptions.ca`), never process-wide. Note that it
   * replaces the public roots for these requests: pass it only for a sandbox endpoint.
   */
  trustedCaPem?: string;
  logger?: TelemetryLogger;
  /** Longest report() waits for ingestion's answer, retries included. Default 30 000 ms. */
  flushTimeoutMs?: number;
  /** In-memory retries of a batch that got 408/5xx, or 429/503 with Retry-After. Default 3. */
  maxRetries?: number;
  /** First back-off delay of those retries. Default 500 ms. */
  retryDelayMs?: number;
  /** Id of each availability item; default random UUIDs. */
  newId?: () => string;
}

export interface NotAcceptedResult {
  id: string;
  /** `<target>/<probe>`. */
  name: string;
  /** Why: ingestion's refusal, its final status, a transport error code, or no answer in time. */
  reason: string;
}

/** What reached ingestion; report() never throws, it returns this for the caller to log. */
export interface TelemetryOutcome {
  /** Availability results handed to the SDK (one per probe that ran). */
  tracked: number;
  /** Results ingestion confirmed. */
  accepted: number;
  /** Probes not reported because they were skipped. */
  skipped: number;
  notAccepted: NotAcceptedResult[];
}

export interface AvailabilityReporter {
  /**
   * `logger` overrides the reporter's for this report's warnings: a Functions worker logs each run
   * to its own invocation (reports are serialised, so one report's warnings never land in another's).
   */
  report(run: RunReport, options?: { logger?: TelemetryLogger }): Promise<TelemetryOutcome>;
  shutdown(): Promise<void>;
}

const DEFAULTS = { roleName: "apim-smoke-probe", flushTimeoutMs: 30_000, maxRetries: 3, retryDelayMs: 500 } as const;
const CONNECTION_STRING_SETTING = "APPLICATIONINSIGHTS_CONNECTION_STRING";
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const noopLogger: TelemetryLogger = { info: () => undefined, warn: () => undefined };

/**
 * Sends one availability result per probe through `applicationinsights` 3 (`trackAvailability`),
 * on a client with its own providers (`useGlobalProviders: false`) so nothing else in the process
 * is instrumented. Choices, and why:
 * - Offline storage OFF: a failed batch must show up in this run's outcome, not sit on a Function
 *   app's disk; retries happen in memory in the exporter's HTTP pipeline (bounded by maxRetries).
 * - Statsbeat, SDK stats, live metrics and the OneSettings poller OFF: the probe's only outbound
 *   telemetry call is to the configured ingestion endpoint (see sdk.ts for how each is stopped).
 * - Accepted vs not is read from ingestion's answer (ingestionObserver.ts), because the SDK's
 *   flush() does not say.
 * - One run's results share the `runId` property (customDimensions.runId / Properties.runId):
 *   a client without a global OpenTelemetry context manager cannot set operation_Id per record.
 */
export function createAvailabilityReporter(options: AvailabilityReporterOptions): AvailabilityReporter {
  validateConnectionString(options.connectionString);
  if (options.runLocation.trim() === "") throw new TypeError("createAvailabilityReporter: runLocation must not be empty");
  const logger = options.logger ?? noopLogger;
  const flushTimeoutMs = options.flushTimeoutMs ?? DEFAULTS.flushTimeoutMs;
  const newId = options.newId ?? randomUUID;
  const observer = createIngestionObserver();

  let client: Promise<TelemetryClient> | undefined;
  // Reports run one at a time so that one run's flush does not account for another's items.
  let queue: Promise<unknown> = Promise.resolve();
  let closed = false;

  const ensureClient = (): Promise<TelemetryClient> => {
    client ??= buildClient(options, observer, logger).catch((error: unknown) => {
      client = undefined;
      throw error;
    });
    return client;
  };

  async function reportNow(run: RunReport, log: TelemetryLogger): Promise<TelemetryOutcome> {
    const { items, skipped } = toAvailabilityItems(run, options.runLocation, newId);
    if (items.length === 0) return { tracked: 0, accepted: 0, skipped, notAccepted: [] };
    if (closed) return notSent(items, skipped, "reporter is shut down");

    let sdk: TelemetryClient;
    try {
      sdk = await ensureClient();
    } catch (error) {
      log.warn("Availability telemetry unavailable: the Application Insights client could not start", {
        error: error instanceof Error ? error.name : "unknown",
      });
      return notSent(items, skipped, "telemetry client could not start");
    }

    const ids = items.map((item) => item.id);
    try {
      for (const item of items) {
        sdk.trackAvailability({
          id: item.id,
          name: item.name,
          // Whole ms: the SDK formats fractions as extra digits, past the documented `.fff`.
          duration: Math.round(item.durationMs),
          success: item.success,
          runLocation: item.runLocation,
          message: item.message,
          properties: item.properties,
          measurements: item.measurements,
        });
      }
      const started = Date.now();
      await withTimeout(sdk.flush(), flushTimeoutMs);
      await observer.settled(ids, Math.max(0, flushTimeoutMs - (Date.now() - started)));
    } catch (error) {
      log.warn("Availability telemetry flush failed", { error: error instanceof Error ? error.name : "unknown" });
    }

    const verdicts = observer.verdicts(ids);
    observer.forget(ids);
    const notAccepted: NotAcceptedResult[] = [];
    for (const item of items) {
      const verdict = verdicts.get(item.id);
      if (verdict?.accepted === true) continue;
      notAccepted.push({
        id: item.id,
        name: item.name,
        reason: verdict === undefined ? `no answer from ingestion within ${flushTimeoutMs} ms` : verdict.reason,
      });
    }
    const outcome: TelemetryOutcome = { tracked: items.length, accepted: items.length - notAccepted.length, skipped, notAccepted };
    if (notAccepted.length > 0) {
      log.warn("Some availability results were not accepted by ingestion", {
        runId: run.runId,
        tracked: outcome.tracked,
        accepted: outcome.accepted,
        notAccepted: notAccepted.map((item) => `${item.name}: ${item.reason}`),
      });
    }
    return outcome;
  }

  return {
    report(run, reportOptions) {
      const log = reportOptions?.logger ?? logger;
      const next = queue.then(() => reportNow(run, log)).catch((error: unknown) => {
        // reportNow handles its own failures; this is the last guard of "report() never throws".
        log.warn("Availability telemetry failed", { error: error instanceof Error ? error.name : "unknown" });
        return { tracked: 0, accepted: 0, skipped: 0, notAccepted: [] } satisfies TelemetryOutcome;
      });
      queue = next;
      return next;
    },
    async shutdown() {
      closed = true;
      await queue;
      if (client === undefined) return;
      try {
        await (await client).shutdown();
      } catch (error) {
        logger.warn("Availability telemetry shutdown failed", { error: error instanceof Error ? error.name : "unknown" });
      }
    },
  };
}

async function buildClient(
  options: AvailabilityReporterOptions,
  observer: IngestionObserver,
  logger: TelemetryLogger,
): Promise<TelemetryClient> {
  const ai = await loadApplicationInsights();
  const { resourceFromAttributes } = await import("@opentelemetry/resources");
  disableBackgroundTelemetry();

  const client = new ai.TelemetryClient(options.connectionString, { useGlobalProviders: false });
  // The shim merges these over its defaults (shim-config.js parseConfig), replacing
  // azureMonitorExporterOptions as a whole: hence the connection string again here.
  client.config.azureMonitorOpenTelemetryOptions = {
    resource: resourceFromAttributes({ "service.name": options.roleName ?? DEFAULTS.roleName }),
    enableLiveMetrics: false,
    azureMonitorExporterOptions: {
      connectionString: options.connectionString,
      disableOfflineStorage: true,
      retryOptions: {
        maxRetries: options.maxRetries ?? DEFAULTS.maxRetries,
        retryDelayInMs: options.retryDelayMs ?? DEFAULTS.retryDelayMs,
        maxRetryDelayInMs: 10_000,
      },
      ...(options.trustedCaPem === undefined ? {} : { tlsOptions: { ca: options.trustedCaPem } }),
      additionalPolicies: [{ policy: observer.policy, position: "perCall" }],
    },
  };
  client.initialize();
  if (!stopRemoteConfigurationPolling()) {
    logger.warn("Could not stop the Azure Monitor exporter's remote configuration polling (settings.sdk.monitor.azure.com)");
  }
  return client;
}

function validateConnectionString(connectionString: string): void {
  const fields = new Map<string, string>();
  for (const part of connectionString.split(";")) {
    const at = part.indexOf("=");
    if (at > 0) fields.set(part.slice(0, at).trim().toLowerCase(), part.slice(at + 1).trim());
  }
  const problems: { setting: string; problem: string }[] = [];
  const ikey = fields.get("instrumentationkey");
  if (ikey === undefined || !GUID.test(ikey)) problems.push({ setting: CONNECTION_STRING_SETTING, problem: "InstrumentationKey must be a GUID" });
  const endpoint = fields.get("ingestionendpoint");
  if (endpoint !== undefined && !endpoint.toLowerCase().startsWith("https://")) {
    // The exporter only speaks https (FACTS.md §4) and would silently rewrite http:// to https://.
    problems.push({ setting: CONNECTION_STRING_SETTING, problem: "IngestionEndpoint must be an https:// URL" });
  }
  if (problems.length > 0) throw new SettingsError(problems);
}

function notSent(items: readonly AvailabilityItem[], skipped: number, reason: string): TelemetryOutcome {
  return { tracked: items.length, accepted: 0, skipped, notAccepted: items.map((item) => ({ id: item.id, name: item.name, reason })) };
}

function withTimeout(promise: Promise<unknown>, ms: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    promise.then(
      () => {
        clearTimeout(timer);
        resolve();
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}
