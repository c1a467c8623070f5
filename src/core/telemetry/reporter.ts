import { randomUUID } from "node:crypto";
import { SettingsError } from "../errors.js";
import type { RunReport } from "../results/types.js";
import type { DeliveryVerdict, KeptResult, Outbox, Release } from "../state/outbox.js";
import type { DamagedDocument } from "../state/store.js";
import { toAvailabilityItems, type AvailabilityItem } from "./availability.js";
import { allRetry, createAvailabilitySender, type SenderOptions, type TelemetryLogger } from "./availability-sender.js";
import { ingestionHost } from "./ingestion-problems.js";

export interface AvailabilityReporterOptions extends SenderOptions {
  /** `location` of every result, e.g. the Function app's region or `sandbox`. */
  runLocation: string;
  logger?: TelemetryLogger;
  /** Id of each availability item; default random UUIDs. */
  newId?: () => string;
}

export interface NotAcceptedResult {
  id: string;
  /** `<target>/<probe>`. */
  name: string;
  /** The probe's outcome (pass, fail, security...). */
  outcome?: string;
  /** Why, naming the ingestion host: its refusal, its final status, a transport error code, or no answer in time. */
  reason: string;
  /** What to do about it, when the reason says (401/403: Entra-authenticated ingestion; TLS: trust; DNS...). */
  fix?: string;
  /** Kept in the outbox for a later run (a retriable reason, an outbox to keep it in, and not evicted). */
  kept: boolean;
  /** Evicted from the full outbox: lost (also counted in the outbox's `evicted`). */
  evicted?: boolean;
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

/** The outbox's side of a report: what it delivered from earlier runs, what waits, what it evicted or found damaged. */
export interface OutboxOutcome {
  earlier: EarlierResults;
  /** Results waiting in the outbox after this report (undefined when the outbox could not be updated at the end). */
  pending?: number;
  description: string;
  /** Results the full outbox evicted (this run's or earlier ones'): lost, by outcome. */
  evicted: { total: number; byOutcome: Record<string, number> };
  /** A damaged outbox document, set aside (copied) before it was replaced. */
  damaged?: DamagedDocument;
  /** The store failed (read or write): what it said. This run's results were then kept nowhere, or only in part. */
  problem?: string;
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
  /** The ingestion endpoint's host. */
  endpoint?: string;
  /** How long the delivery took (the outbox's reads and writes included), ms. */
  deliveryMs?: number;
  /** Present when the report had an outbox. */
  outbox?: OutboxOutcome;
}

/** Results neither accepted nor kept: not accepted and not kept, plus earlier runs' results evicted at the outbox's cap. */
export function lostCount(outcome: TelemetryOutcome): number {
  const mineEvicted = outcome.notAccepted.filter((r) => r.evicted === true).length;
  return outcome.notAccepted.filter((r) => !r.kept).length + (outcome.outbox?.evicted.total ?? 0) - mineEvicted;
}

export interface AvailabilityReporter {
  /**
   * `logger` overrides the reporter's for this report's warnings: a Functions worker logs each run
   * to its own invocation (reports are serialised, so one report's warnings never land in another's).
   */
  report(run: RunReport, options?: { logger?: TelemetryLogger; outbox?: Outbox }): Promise<TelemetryOutcome>;
  shutdown(): Promise<void>;
}

const CONNECTION_STRING_SETTING = "APPLICATIONINSIGHTS_CONNECTION_STRING";
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const noopLogger: TelemetryLogger = { info: () => undefined, warn: () => undefined };

/**
 * Sends one availability result per probe through `applicationinsights` 3 (`trackAvailability`,
 * in availability-sender.ts), and reconciles them with the outbox: this run's results are kept before
 * any is sent, earlier runs' go first, and what ingestion accepted leaves the outbox chunk by chunk.
 * The client has its own providers (`useGlobalProviders: false`) so nothing else in the process
 * is instrumented. Choices, and why:
 * - Offline storage OFF: a failed batch must show up in this run's outcome, not sit on a Function
 *   app's disk; retries happen in memory in the exporter's HTTP pipeline (bounded by maxRetries),
 *   and across runs in the probe's own outbox (state/outbox.ts).
 * - Statsbeat, SDK stats, live metrics and the OneSettings poller OFF: the probe's only outbound
 *   telemetry call is to the configured ingestion endpoint (see sdk.ts for how each is stopped).
 * - Accepted vs not is read from ingestion's answer (ingestion-observer.ts), because the SDK's
 *   flush() does not say.
 * - Results go in chunks of DELIVERY_CHUNK, so a run of any size gets through the SDK's queue.
 * - One run's results share the `runId` property (customDimensions.runId / Properties.runId):
 *   a client without a global OpenTelemetry context manager cannot set operation_Id per record.
 */
export function createAvailabilityReporter(options: AvailabilityReporterOptions): AvailabilityReporter {
  validateConnectionString(options.connectionString);
  if (options.runLocation.trim() === "")
    throw new TypeError("createAvailabilityReporter: runLocation must not be empty");
  const logger = options.logger ?? noopLogger;
  const newId = options.newId ?? randomUUID;
  const endpoint = ingestionHost(options.connectionString);
  const sender = createAvailabilitySender(options, endpoint, logger);
  // Reports run one at a time so that one run's flush does not account for another's items.
  let queue: Promise<unknown> = Promise.resolve();
  let closed = false;

  async function reportNow(
    run: RunReport,
    log: TelemetryLogger,
    outbox: Outbox | undefined,
  ): Promise<TelemetryOutcome> {
    const started = performance.now();
    const { items, skipped } = toAvailabilityItems(run, options.runLocation, newId);
    if (items.length === 0 && !outbox) return { tracked: 0, accepted: 0, skipped, notAccepted: [] };

    // Kept before sent: this run's results are in the outbox, held by this delivery, before any is sent.
    const admitted = outbox ? await admit(outbox, run.runId, items, log) : undefined;
    const earlier = admitted?.claimed ?? [];
    if (
      items.length === 0 &&
      earlier.length === 0 &&
      admitted?.damaged === undefined &&
      admitted?.problem === undefined &&
      (admitted?.tooOld ?? 0) === 0
    ) {
      return { tracked: 0, accepted: 0, skipped, notAccepted: [] };
    }
    let storeProblem = admitted?.problem;

    // Earlier runs' results first, oldest first: the history fills in the order it happened.
    const batch = [...earlier.map((k) => k.item), ...items];
    let verdicts: Map<string, DeliveryVerdict>;
    const afterChunk = async (chunkVerdicts: ReadonlyMap<string, DeliveryVerdict>): Promise<void> => {
      if (!outbox || admitted?.problem !== undefined) return;
      try {
        // What ingestion accepted leaves now: a crash after this point re-sends at most the next chunk.
        await outbox.settle(run.runId, chunkVerdicts);
      } catch (error) {
        storeProblem ??= errorText(error);
      }
    };
    if (batch.length === 0) {
      verdicts = new Map();
    } else if (closed) {
      verdicts = allRetry(batch, { reason: "not sent: the telemetry reporter is shut down" });
    } else {
      try {
        verdicts = await sender.deliver(batch, log, afterChunk);
      } catch (error) {
        log.warn("Availability telemetry unavailable: the Application Insights client could not start", {
          error: error instanceof Error ? error.name : "unknown",
        });
        verdicts = allRetry(batch, { reason: "not sent: the Application Insights client could not start" });
      }
    }

    const refusedEarlier = earlier.filter((k) => verdicts.get(k.item.id)?.kind === "refused");
    if (refusedEarlier.length > 0) {
      log.warn("Availability results kept from earlier runs were refused by ingestion and dropped", {
        refused: refusedEarlier.map((k) => `${k.item.name} (${k.item.time}): ${reasonOf(verdicts.get(k.item.id))}`),
      });
    }
    let released: Release | undefined;
    if (outbox && admitted?.problem === undefined) {
      try {
        released = await outbox.release(run.runId, verdicts);
      } catch (error) {
        storeProblem ??= errorText(error);
      }
    }
    if (storeProblem !== undefined && outbox) {
      log.warn("Availability results could not be kept for a later run", {
        store: outbox.description,
        error: storeProblem,
      });
    }
    const evictedIds = new Set(released?.evicted.map((k) => k.item.id));
    // Kept: admitted before sending, not accepted for a reason that may pass, not evicted. (When only the
    // final release failed, the results are still in the outbox, held until the claim lapses.)
    const keptAtAll = outbox !== undefined && admitted?.problem === undefined;
    const notAccepted: NotAcceptedResult[] = [];
    for (const item of items) {
      const verdict = verdicts.get(item.id);
      if (verdict?.kind === "accepted") continue;
      const evicted = evictedIds.has(item.id);
      notAccepted.push({
        id: item.id,
        name: item.name,
        ...(item.properties["outcome"] ? { outcome: item.properties["outcome"] } : {}),
        reason: reasonOf(verdict),
        ...(verdict?.fix ? { fix: verdict.fix } : {}),
        kept: keptAtAll && verdict?.kind === "retry" && !evicted,
        ...(evicted ? { evicted: true } : {}),
      });
    }
    const outcome: TelemetryOutcome = {
      tracked: items.length,
      accepted: items.length - notAccepted.length,
      skipped,
      notAccepted,
      endpoint,
    };
    if (notAccepted.length > 0) {
      log.warn("Some availability results were not accepted by ingestion", {
        runId: run.runId,
        endpoint,
        tracked: outcome.tracked,
        accepted: outcome.accepted,
        kept: notAccepted.filter((r) => r.kept).length,
        notAccepted: notAccepted.map(
          (item) => `${item.name}: ${item.reason}${item.kept ? " (kept for a later run)" : ""}`,
        ),
        fixes: [...new Set(notAccepted.map((r) => r.fix).filter((f): f is string => f !== undefined))],
      });
    }
    if (released && released.evicted.length > 0) {
      log.warn(
        "The outbox is full: availability results were evicted and are lost (passes first, security findings last)",
        {
          store: outbox?.description,
          evicted: released.evicted.length,
          byOutcome: countByOutcome(released.evicted.map((k) => k.item)),
        },
      );
    }
    outcome.deliveryMs = Math.round(performance.now() - started);
    if (!outbox) return outcome;
    const damaged = released?.damaged ?? admitted?.damaged;
    return {
      ...outcome,
      outbox: {
        description: outbox.description,
        earlier: {
          delivered: earlier.filter((k) => verdicts.get(k.item.id)?.kind === "accepted").length,
          refused: refusedEarlier.length,
          tooOld: admitted?.tooOld ?? 0,
        },
        ...(released ? { pending: released.pending } : {}),
        evicted: {
          total: released?.evicted.length ?? 0,
          byOutcome: countByOutcome(released?.evicted.map((k) => k.item) ?? []),
        },
        ...(damaged ? { damaged } : {}),
        ...(storeProblem !== undefined ? { problem: storeProblem } : {}),
      },
    };
  }

  /** Puts this run's results in the outbox and claims the earlier ones; a store failure is reported, and the run is sent all the same. */
  async function admit(
    outbox: Outbox,
    delivery: string,
    items: readonly AvailabilityItem[],
    log: TelemetryLogger,
  ): Promise<{ claimed: KeptResult[]; tooOld: number; damaged?: DamagedDocument; problem?: string }> {
    try {
      const { claimed, tooOld, damaged } = await outbox.admit(delivery, items);
      if (damaged) {
        log.warn(
          `The outbox in ${damaged.store} was damaged (${damaged.problem}): a copy is kept as ${damaged.savedAs}, and a new outbox started`,
          { ...damaged },
        );
      }
      if (tooOld.length > 0) {
        log.warn("Availability results kept too long to be accepted were dropped", {
          dropped: tooOld.map((k) => `${k.item.name} (${k.item.time}): last tried ${k.lastReason}`),
        });
      }
      return { claimed, tooOld: tooOld.length, ...(damaged ? { damaged } : {}) };
    } catch (error) {
      const problem = errorText(error);
      log.warn("Availability results could not be kept before sending, and those of earlier runs could not be read", {
        store: outbox.description,
        error: problem,
      });
      return { claimed: [], tooOld: 0, problem };
    }
  }

  return {
    report(run, reportOptions) {
      const log = reportOptions?.logger ?? logger;
      const next = queue
        .then(() => reportNow(run, log, reportOptions?.outbox))
        .catch((error: unknown) => {
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
      await sender.shutdown();
    },
  };
}

function validateConnectionString(connectionString: string): void {
  const fields = new Map<string, string>();
  for (const part of connectionString.split(";")) {
    const at = part.indexOf("=");
    if (at > 0) fields.set(part.slice(0, at).trim().toLowerCase(), part.slice(at + 1).trim());
  }
  const problems: { setting: string; problem: string }[] = [];
  const ikey = fields.get("instrumentationkey");
  if (ikey === undefined || !GUID.test(ikey))
    problems.push({ setting: CONNECTION_STRING_SETTING, problem: "InstrumentationKey must be a GUID" });
  const endpoint = fields.get("ingestionendpoint");
  if (endpoint !== undefined && !endpoint.toLowerCase().startsWith("https://")) {
    // The exporter only speaks https (docs/REFERENCE.md §4) and would silently rewrite http:// to https://.
    problems.push({ setting: CONNECTION_STRING_SETTING, problem: "IngestionEndpoint must be an https:// URL" });
  }
  if (problems.length > 0) throw new SettingsError(problems);
}

function countByOutcome(items: readonly AvailabilityItem[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) {
    const outcome = item.properties["outcome"] ?? "unknown";
    counts[outcome] = (counts[outcome] ?? 0) + 1;
  }
  return counts;
}

/** A state store's message names the store and never a key or a SAS (StateStoreError). */
function errorText(error: unknown): string {
  return error instanceof Error ? error.message : "unknown error";
}

function reasonOf(verdict: DeliveryVerdict | undefined): string {
  return verdict === undefined || verdict.kind === "accepted" ? "no verdict" : verdict.reason;
}
