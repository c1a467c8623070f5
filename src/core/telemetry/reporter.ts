import { randomUUID } from "node:crypto";
import type { TokenCredential } from "@azure/identity";
import type { TelemetryClient } from "applicationinsights";
import { SettingsError } from "../errors.js";
import type { RunReport } from "../results/types.js";
import type { DeliveryVerdict, KeptResult, Outbox } from "../state/outbox.js";
import { toAvailabilityItems, type AvailabilityItem } from "./availability.js";
import { ingestionCredential, type IngestionAuthentication } from "./ingestion-auth.js";
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
  /**
   * Entra-authenticated ingestion (APPLICATIONINSIGHTS_AUTHENTICATION_STRING, see ingestion-auth.ts):
   * the exporter sends the managed identity's bearer token for Azure Monitor with every batch.
   */
  ingestionAuth?: IngestionAuthentication;
  /** The credential for Entra-authenticated ingestion instead of the managed identity (tests). */
  credential?: TokenCredential;
}

export interface NotAcceptedResult {
  id: string;
  /** `<target>/<probe>`. */
  name: string;
  /** Why: ingestion's refusal, its final status, a transport error code, or no answer in time. */
  reason: string;
  /** Kept in the outbox for a later run (a retriable reason, and an outbox to keep it in). */
  kept: boolean;
}

/** What became of the results earlier runs kept in the outbox. */
export interface EarlierResults {
  /** Accepted now, with their original id and time. */
  delivered: number;
  /** Refused for their content: dropped, and logged. */
  refused: number;
  /** Older than ingestion keeps a record's own time (outbox.ts): dropped, and logged. */
  tooOld: number;
}

/** What reached ingestion; report() never throws, it returns this for the caller to log. */
export interface TelemetryOutcome {
  /** Availability results handed to the SDK (one per probe that ran). */
  tracked: number;
  /** Results ingestion confirmed. */
  accepted: number;
  /** Probes not reported because they were skipped. */
  skipped: number;
  /** This run's results that ingestion did not accept; `kept` says which the outbox holds. */
  notAccepted: NotAcceptedResult[];
  /** Present when the report had an outbox. */
  outbox?: { earlier: EarlierResults; pending: number; description: string };
}


export interface AvailabilityReporter {
  /**
   * `logger` overrides the reporter's for this report's warnings: a Functions worker logs each run
   * to its own invocation (reports are serialised, so one report's warnings never land in another's).
   */
  report(run: RunReport, options?: { logger?: TelemetryLogger; outbox?: Outbox }): Promise<TelemetryOutcome>;
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
  // Each item's own time, by id, for the record processor that stamps it (recordTimes below).
  const times = new Map<string, number>();

  let client: Promise<TelemetryClient> | undefined;
  // Reports run one at a time so that one run's flush does not account for another's items.
  let queue: Promise<unknown> = Promise.resolve();
  let closed = false;

  const ensureClient = (): Promise<TelemetryClient> => {
    client ??= buildClient(options, observer, times, logger).catch((error: unknown) => {
      client = undefined;
      throw error;
    });
    return client;
  };

  /** Sends the items (in this order) and waits for ingestion's verdict on each, within the flush timeout. */
  async function deliver(sdk: TelemetryClient, items: readonly AvailabilityItem[], log: TelemetryLogger): Promise<Map<string, DeliveryVerdict>> {
    const ids = items.map((item) => item.id);
    try {
      for (const item of items) {
        times.set(item.id, Date.parse(item.time));
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
    } finally {
      for (const id of ids) times.delete(id);
    }
    const seen = observer.verdicts(ids);
    observer.forget(ids);
    const verdicts = new Map<string, DeliveryVerdict>();
    for (const id of ids) {
      const verdict = seen.get(id);
      if (verdict === undefined) verdicts.set(id, { kind: "retry", reason: `no answer from ingestion within ${flushTimeoutMs} ms` });
      else if (verdict.accepted) verdicts.set(id, { kind: "accepted" });
      else verdicts.set(id, { kind: verdict.retriable ? "retry" : "refused", reason: verdict.reason });
    }
    return verdicts;
  }

  async function reportNow(run: RunReport, log: TelemetryLogger, outbox: Outbox | undefined): Promise<TelemetryOutcome> {
    const { items, skipped } = toAvailabilityItems(run, options.runLocation, newId);
    const { claimed: earlier, tooOld } = outbox ? await claimEarlier(outbox, run.runId, log) : { claimed: [], tooOld: 0 };
    if (items.length === 0 && earlier.length === 0) return withOutbox({ tracked: 0, accepted: 0, skipped, notAccepted: [] }, outbox, undefined);

    // Earlier runs' results first, oldest first: the history fills in the order it happened.
    const batch = [...earlier.map((k) => k.item), ...items];
    let verdicts: Map<string, DeliveryVerdict>;
    if (closed) {
      verdicts = allRetry(batch, "reporter is shut down");
    } else {
      try {
        verdicts = await deliver(await ensureClient(), batch, log);
      } catch (error) {
        log.warn("Availability telemetry unavailable: the Application Insights client could not start", {
          error: error instanceof Error ? error.name : "unknown",
        });
        verdicts = allRetry(batch, "telemetry client could not start");
      }
    }

    const refusedEarlier = earlier.filter((k) => verdicts.get(k.item.id)?.kind === "refused");
    if (refusedEarlier.length > 0) {
      log.warn("Availability results kept from earlier runs were refused by ingestion and dropped", {
        refused: refusedEarlier.map((k) => `${k.item.name} (${k.item.time}): ${reasonOf(verdicts.get(k.item.id))}`),
      });
    }
    let pending: number | undefined;
    if (outbox) {
      try {
        pending = await outbox.settle(run.runId, verdicts, items);
      } catch (error) {
        log.warn("Availability results could not be kept for a later run", { store: outbox.description, error: error instanceof Error ? error.message : "unknown" });
      }
    }
    const notAccepted: NotAcceptedResult[] = [];
    for (const item of items) {
      const verdict = verdicts.get(item.id);
      if (verdict?.kind === "accepted") continue;
      notAccepted.push({ id: item.id, name: item.name, reason: reasonOf(verdict), kept: pending !== undefined && verdict?.kind === "retry" });
    }
    const outcome: TelemetryOutcome = { tracked: items.length, accepted: items.length - notAccepted.length, skipped, notAccepted };
    if (notAccepted.length > 0) {
      log.warn("Some availability results were not accepted by ingestion", {
        runId: run.runId,
        tracked: outcome.tracked,
        accepted: outcome.accepted,
        kept: notAccepted.filter((r) => r.kept).length,
        notAccepted: notAccepted.map((item) => `${item.name}: ${item.reason}${item.kept ? " (kept for a later run)" : ""}`),
      });
    }
    return withOutbox(outcome, outbox, pending === undefined ? undefined : {
      delivered: earlier.filter((k) => verdicts.get(k.item.id)?.kind === "accepted").length,
      refused: refusedEarlier.length,
      tooOld,
      pending,
    });
  }

  /** The outbox's results, claimed for this report; those too old to be accepted are logged, dropped and counted. */
  async function claimEarlier(outbox: Outbox, delivery: string, log: TelemetryLogger): Promise<{ claimed: KeptResult[]; tooOld: number }> {
    try {
      const { claimed, tooOld } = await outbox.claim(delivery);
      if (tooOld.length > 0) {
        log.warn("Availability results kept too long to be accepted were dropped", {
          dropped: tooOld.map((k) => `${k.item.name} (${k.item.time}): last tried ${k.lastReason}`),
        });
      }
      return { claimed, tooOld: tooOld.length };
    } catch (error) {
      log.warn("Availability results kept by earlier runs could not be read", { store: outbox.description, error: error instanceof Error ? error.message : "unknown" });
      return { claimed: [], tooOld: 0 };
    }
  }

  return {
    report(run, reportOptions) {
      const log = reportOptions?.logger ?? logger;
      const next = queue.then(() => reportNow(run, log, reportOptions?.outbox)).catch((error: unknown) => {
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
  times: ReadonlyMap<string, number>,
  logger: TelemetryLogger,
): Promise<TelemetryClient> {
  const ai = await loadApplicationInsights();
  const { resourceFromAttributes } = await import("@opentelemetry/resources");
  disableBackgroundTelemetry();

  const credential = options.credential ?? (options.ingestionAuth ? await ingestionCredential(options.ingestionAuth) : undefined);
  const client = new ai.TelemetryClient(options.connectionString, { useGlobalProviders: false });
  // The shim merges these over its defaults (shim-config.js parseConfig), replacing
  // azureMonitorExporterOptions as a whole: hence the connection string again here.
  client.config.azureMonitorOpenTelemetryOptions = {
    resource: resourceFromAttributes({ "service.name": options.roleName ?? DEFAULTS.roleName }),
    enableLiveMetrics: false,
    logRecordProcessors: [recordTimes(times)],
    azureMonitorExporterOptions: {
      connectionString: options.connectionString,
      disableOfflineStorage: true,
      retryOptions: {
        maxRetries: options.maxRetries ?? DEFAULTS.maxRetries,
        retryDelayInMs: options.retryDelayMs ?? DEFAULTS.retryDelayMs,
        maxRetryDelayInMs: 10_000,
      },
      ...(options.trustedCaPem === undefined ? {} : { tlsOptions: { ca: options.trustedCaPem } }),
      ...(credential === undefined ? {} : { credential }),
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

function allRetry(items: readonly AvailabilityItem[], reason: string): Map<string, DeliveryVerdict> {
  return new Map(items.map((item) => [item.id, { kind: "retry", reason }]));
}

function reasonOf(verdict: DeliveryVerdict | undefined): string {
  return verdict === undefined || verdict.kind === "accepted" ? "no verdict" : verdict.reason;
}

function withOutbox(
  outcome: TelemetryOutcome,
  outbox: Outbox | undefined,
  state: (EarlierResults & { pending: number }) | undefined,
): TelemetryOutcome {
  if (!outbox || !state) return outcome;
  const { pending, ...earlier } = state;
  return { ...outcome, outbox: { earlier, pending, description: outbox.description } };
}

/** The part of an OpenTelemetry SDK log record this processor touches (sdk-logs SdkLogRecord). */
interface StampableRecord {
  hrTime: [number, number];
  body?: unknown;
}

/**
 * `trackAvailability` ignores `time` and stamps the record when called (FACTS.md §4). A result is
 * about the moment its probe ran, and one the outbox delivers a day later must keep that moment, so
 * this processor (the OpenTelemetry log SDK lets a processor's onEmit change the record before it
 * becomes read-only) sets each record's time from its id. The exporter reads it when it exports.
 */
function recordTimes(times: ReadonlyMap<string, number>) {
  return {
    onEmit(record: StampableRecord): void {
      const id = (record.body as { id?: unknown } | undefined)?.id;
      const ms = typeof id === "string" ? times.get(id) : undefined;
      if (ms === undefined || Number.isNaN(ms)) return;
      record.hrTime = [Math.floor(ms / 1000), (ms % 1000) * 1_000_000];
    },
    forceFlush: () => Promise.resolve(),
    shutdown: () => Promise.resolve(),
  };
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
