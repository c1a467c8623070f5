import type { TokenCredential } from "@azure/identity";
import type { TelemetryClient } from "applicationinsights";
import type { DeliveryVerdict } from "../state/outbox.js";
import type { AvailabilityItem } from "./availability.js";
import { ingestionCredential, type IngestionAuthentication } from "./ingestion-auth.js";
import { noAnswerProblem, type IngestionProblem } from "./ingestion-problems.js";
import { observeIngestionToken, type IngestionTokenCredential } from "./ingestion-token.js";
import { createIngestionObserver, type IngestionObserver } from "./ingestion-observer.js";
import { disableBackgroundTelemetry, loadApplicationInsights, stopRemoteConfigurationPolling } from "./sdk.js";

export interface TelemetryLogger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
}

/** What the SDK client is built from. */
export interface SenderOptions {
  /** `APPLICATIONINSIGHTS_CONNECTION_STRING`. */
  connectionString: string;
  /** `cloud_RoleName`; default `apim-smoke-probe`. */
  roleName?: string;
  /**
   * PEM of a CA to trust for the ingestion endpoint, e.g. the sandbox CA. Applied only to this
   * reporter's exporter (core-rest-pipeline `tlsOptions.ca`), never process-wide. Note that it
   * replaces the public roots for these requests: pass it only for a sandbox endpoint.
   */
  trustedCaPem?: string;
  /** Longest report() waits for ingestion's answer, retries included. Default 30 000 ms. */
  flushTimeoutMs?: number;
  /** In-memory retries of a batch that got 408/5xx, or 429/503 with Retry-After. Default 3. */
  maxRetries?: number;
  /** First back-off delay of those retries. Default 500 ms. */
  retryDelayMs?: number;
  /**
   * Entra-authenticated ingestion (APPLICATIONINSIGHTS_AUTHENTICATION_STRING, see ingestion-auth.ts):
   * the exporter sends the managed identity's bearer token for Azure Monitor with every batch.
   */
  ingestionAuth?: IngestionAuthentication;
  /** The credential for Entra-authenticated ingestion instead of the managed identity (tests). */
  credential?: TokenCredential;
}

export interface AvailabilitySender {
  /**
   * Sends the items in this order, chunk by chunk, within the flush timeout; `afterChunk` hears each
   * chunk's verdicts. Throws only when the Application Insights client cannot start.
   */
  deliver(
    items: readonly AvailabilityItem[],
    log: TelemetryLogger,
    afterChunk: (verdicts: ReadonlyMap<string, DeliveryVerdict>) => Promise<void>,
  ): Promise<Map<string, DeliveryVerdict>>;
  /** Shuts the client down, if one was started. */
  shutdown(): Promise<void>;
}

const DEFAULTS = { roleName: "apim-smoke-probe", flushTimeoutMs: 30_000, maxRetries: 3, retryDelayMs: 500 } as const;

/**
 * Results handed to the SDK at a time, each chunk flushed before the next. The SDK's log pipeline
 * (`applicationinsights` 3 builds an OpenTelemetry BatchLogRecordProcessor with its defaults:
 * maxQueueSize 2048, maxExportBatchSize 512) drops, without a word, every record emitted while its
 * queue is full: a run of 2 702 results got 512 in flight + 2 048 queued = 2 560 through
 * (test/core/telemetry/pipeline-limits.test.ts shows it). A chunk of one export batch never fills
 * the queue, is one POST, and lets the outbox drop what was accepted before the next goes out.
 */
export const DELIVERY_CHUNK = 512;

/**
 * The SDK adapter: sends availability results through `applicationinsights` 3 (`trackAvailability`)
 * and reads ingestion's verdict on each from its answer (ingestion-observer.ts), because the SDK's
 * flush() does not say. The client is built on first use, with its own providers
 * (`useGlobalProviders: false`) so nothing else in the process is instrumented.
 */
export function createAvailabilitySender(
  options: SenderOptions,
  endpoint: string,
  logger: TelemetryLogger,
): AvailabilitySender {
  const flushTimeoutMs = options.flushTimeoutMs ?? DEFAULTS.flushTimeoutMs;
  const observer = createIngestionObserver();
  // Each item's own time, by id, for the record processor that stamps it (recordTimes below).
  const times = new Map<string, number>();
  let client: Promise<TelemetryClient> | undefined;
  const auth = options.ingestionAuth;
  const given = options.credential;
  const credential: IngestionTokenCredential | undefined =
    given || auth
      ? observeIngestionToken(() => (given ? Promise.resolve(given) : ingestionCredential(auth!)), {
          host: endpoint,
          ...(auth?.managedIdentityClientId ? { clientId: auth.managedIdentityClientId } : {}),
        })
      : undefined;

  const ensureClient = (): Promise<TelemetryClient> => {
    client ??= buildClient(options, credential, observer, times, logger).catch((error: unknown) => {
      client = undefined;
      throw error;
    });
    return client;
  };

  /** Sends one chunk and waits for ingestion's verdict on each of its items, within `waitMs`. */
  async function deliverChunk(
    sdk: TelemetryClient,
    items: readonly AvailabilityItem[],
    waitMs: number,
    log: TelemetryLogger,
  ): Promise<Map<string, DeliveryVerdict>> {
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
      await withTimeout(sdk.flush(), waitMs);
      // A chunk whose token could not be had never went out: there is no verdict to wait for.
      if (!credential?.problem()) await observer.settled(ids, Math.max(0, waitMs - (Date.now() - started)));
    } catch (error) {
      log.warn("Availability telemetry flush failed", { error: error instanceof Error ? error.name : "unknown" });
    } finally {
      for (const id of ids) times.delete(id);
    }
    const seen = observer.verdicts(ids);
    observer.forget(ids);
    const verdicts = new Map<string, DeliveryVerdict>();
    // No answer at all: the identity that gave no token, when it was that, else the wait.
    const none = credential?.problem() ?? noAnswerProblem(endpoint, flushTimeoutMs);
    for (const id of ids) {
      const verdict = seen.get(id);
      if (verdict === undefined) verdicts.set(id, { kind: "retry", ...none });
      else if (verdict.accepted) verdicts.set(id, { kind: "accepted" });
      else
        verdicts.set(id, {
          kind: verdict.retriable ? "retry" : "refused",
          reason: verdict.reason,
          ...(verdict.fix ? { fix: verdict.fix } : {}),
        });
    }
    return verdicts;
  }

  /** Sends the items in this order, chunk by chunk, within the flush timeout; `afterChunk` hears each chunk's verdicts. */
  async function deliver(
    sdk: TelemetryClient,
    items: readonly AvailabilityItem[],
    log: TelemetryLogger,
    afterChunk: (verdicts: ReadonlyMap<string, DeliveryVerdict>) => Promise<void>,
  ): Promise<Map<string, DeliveryVerdict>> {
    const deadline = Date.now() + flushTimeoutMs;
    const verdicts = new Map<string, DeliveryVerdict>();
    for (let start = 0; start < items.length; start += DELIVERY_CHUNK) {
      const chunk = items.slice(start, start + DELIVERY_CHUNK);
      const left = deadline - Date.now();
      const chunkVerdicts =
        left > 0
          ? await deliverChunk(sdk, chunk, left, log)
          : allRetry(chunk, {
              reason: `not sent to ingestion at ${endpoint}: the delivery's ${flushTimeoutMs} ms ran out before this part of the run`,
            });
      for (const [id, verdict] of chunkVerdicts) verdicts.set(id, verdict);
      await afterChunk(chunkVerdicts);
    }
    return verdicts;
  }

  return {
    async deliver(items, log, afterChunk) {
      return deliver(await ensureClient(), items, log, afterChunk);
    },
    async shutdown() {
      if (client === undefined) return;
      try {
        await (await client).shutdown();
      } catch (error) {
        logger.warn("Availability telemetry shutdown failed", {
          error: error instanceof Error ? error.name : "unknown",
        });
      }
    },
  };
}

async function buildClient(
  options: SenderOptions,
  credential: TokenCredential | undefined,
  observer: IngestionObserver,
  times: ReadonlyMap<string, number>,
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
    logger.warn(
      "Could not stop the Azure Monitor exporter's remote configuration polling (settings.sdk.monitor.azure.com)",
    );
  }
  return client;
}

export function allRetry(items: readonly AvailabilityItem[], problem: IngestionProblem): Map<string, DeliveryVerdict> {
  return new Map(items.map((item) => [item.id, { kind: "retry", ...problem }]));
}

/** The part of an OpenTelemetry SDK log record this processor touches (sdk-logs SdkLogRecord). */
interface StampableRecord {
  hrTime: [number, number];
  body?: unknown;
}

/**
 * `trackAvailability` ignores `time` and stamps the record when called (docs/REFERENCE.md §4). A result is
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
