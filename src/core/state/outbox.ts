import type { AvailabilityItem } from "../telemetry/availability.js";
import { jsonCodec, updateDocument, type StateStore } from "./store.js";

/**
 * How old a result may be and still be delivered: Azure Monitor keeps a record's own time only when
 * it is at most 2 days (48 h) older than its arrival (learn.microsoft.com azure-monitor/logs
 * logs-ingestion-api-overview, "TimeGenerated"; the classic ingestion endpoint documents no other
 * figure). An hour's margin keeps a result from arriving just past the limit.
 */
export const OUTBOX_MAX_AGE_MS = 47 * 60 * 60_000;

/**
 * How long a delivery may hold results it claimed: longer than a run's budget plus telemetry's
 * flush (probe-runtime.ts: 8 + 1 min), so a live delivery is never raced; a run that died holding
 * some releases them to the next run after this.
 */
export const OUTBOX_CLAIM_TTL_MS = 15 * 60_000;

/** Past this many kept results the oldest go first: a month of outage must not grow the state without bound. */
export const OUTBOX_MAX_ITEMS = 20_000;

const DOCUMENT = "outbox";

/** A result ingestion did not take for a reason that may pass (408, 429, 439, 5xx, timeout, transport). */
export interface KeptResult {
  item: AvailabilityItem;
  /** Deliveries tried so far, including the first. */
  attempts: number;
  lastReason: string;
  /** The delivery that holds it now, and since when (ms). */
  claim?: { by: string; at: number };
}

interface OutboxDocument {
  version: 1;
  results: KeptResult[];
}

/** What a delivery did with each result it claimed or produced. */
export type DeliveryVerdict = { kind: "accepted" } | { kind: "refused"; reason: string } | { kind: "retry"; reason: string };

/**
 * Availability results that ingestion did not accept yet, kept in the probe's state until it does
 * (issue 14). A delivery claims the kept results (oldest first), sends them before its own, then
 * settles: accepted and refused ones leave, the others stay with their original id and time. The
 * claim is what makes "nothing delivered twice" hold when two runs overlap: the other run sees the
 * results claimed and leaves them alone.
 */
export class Outbox {
  constructor(
    private readonly store: StateStore,
    private readonly now: () => number = Date.now,
  ) {}

  get description(): string {
    return this.store.description;
  }

  /** Takes the kept results no live delivery holds; drops (and returns) those too old to be accepted now. */
  async claim(delivery: string): Promise<{ claimed: KeptResult[]; tooOld: KeptResult[] }> {
    const now = this.now();
    return updateDocument<OutboxDocument, { claimed: KeptResult[]; tooOld: KeptResult[] }>(this.store, DOCUMENT, OUTBOX_CODEC, (doc) => {
      const tooOld: KeptResult[] = [];
      const claimed: KeptResult[] = [];
      const results: KeptResult[] = [];
      for (const r of doc.results) {
        if (!isFree(r, now)) results.push(r);
        else if (now - Date.parse(r.item.time) > OUTBOX_MAX_AGE_MS) tooOld.push(r);
        else {
          const mine = { ...r, claim: { by: delivery, at: now } };
          claimed.push(mine);
          results.push(mine);
        }
      }
      if (claimed.length === 0 && tooOld.length === 0) return { unchanged: { claimed: [], tooOld: [] } };
      return { next: { version: 1 as const, results }, result: { claimed: sortByTime(claimed), tooOld } };
    });
  }

  /**
   * After the delivery: its claimed results that were accepted or refused leave, the others are
   * released for the next run; this run's results that must be retried join, once each (by id).
   * Returns how many results the outbox keeps now.
   */
  async settle(delivery: string, verdicts: ReadonlyMap<string, DeliveryVerdict>, fresh: readonly AvailabilityItem[]): Promise<number> {
    return updateDocument(this.store, DOCUMENT, OUTBOX_CODEC, (doc) => {
      const results: KeptResult[] = [];
      for (const kept of doc.results) {
        if (kept.claim?.by !== delivery) {
          results.push(kept);
          continue;
        }
        const verdict = verdicts.get(kept.item.id);
        if (verdict?.kind === "accepted" || verdict?.kind === "refused") continue;
        const { claim: _released, ...rest } = kept;
        results.push({ ...rest, attempts: kept.attempts + 1, lastReason: verdict?.reason ?? kept.lastReason });
      }
      const known = new Set(results.map((r) => r.item.id));
      for (const item of fresh) {
        const verdict = verdicts.get(item.id);
        if (verdict?.kind !== "retry" || known.has(item.id)) continue;
        known.add(item.id);
        results.push({ item, attempts: 1, lastReason: verdict.reason });
      }
      const sorted = sortByTime(results).slice(-OUTBOX_MAX_ITEMS);
      return { next: { version: 1 as const, results: sorted }, result: sorted.length };
    });
  }
}

function isFree(result: KeptResult, now: number): boolean {
  return result.claim === undefined || now - result.claim.at > OUTBOX_CLAIM_TTL_MS;
}

function sortByTime(results: readonly KeptResult[]): KeptResult[] {
  return [...results].sort((a, b) => Date.parse(a.item.time) - Date.parse(b.item.time));
}

const OUTBOX_CODEC = jsonCodec<OutboxDocument>(
  (value) => {
    const results = (value as { results?: unknown } | null)?.results;
    return Array.isArray(results) ? { version: 1, results: results.filter(isKeptResult) } : undefined;
  },
  () => ({ version: 1, results: [] }),
);

function isKeptResult(value: unknown): value is KeptResult {
  const item = (value as { item?: Partial<AvailabilityItem> } | null)?.item;
  return typeof item?.id === "string" && typeof item.name === "string" && typeof item.time === "string" && !Number.isNaN(Date.parse(item.time));
}
