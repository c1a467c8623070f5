import { hostname } from "node:os";
import type { AvailabilityItem } from "../telemetry/availability.js";
import { updateDocument, type DamagedDocument, type DocumentCodec, type StateStore } from "./store.js";

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
 * some releases them to the next run after this (at once when the next run is on the same host and
 * the claiming process is gone: see isFree).
 */
export const OUTBOX_CLAIM_TTL_MS = 15 * 60_000;

/** Past this many kept results some are evicted (see evictionOrder): a month of outage must not grow the state without bound. */
export const OUTBOX_MAX_ITEMS = 20_000;

/** The outbox document's format; a document of another version is set aside, never read as empty in silence. */
export const OUTBOX_FORMAT_VERSION = 1 as const;

const DOCUMENT = "outbox";

/** A result ingestion did not take yet: this run's before its delivery, or one a retriable reason kept (408, 429, 439, 5xx, timeout, transport). */
export interface KeptResult {
  item: AvailabilityItem;
  /** Deliveries tried so far (0: kept before its first delivery). */
  attempts: number;
  lastReason: string;
  /** The delivery that holds it now, since when (ms), and which process (host and pid) runs it. */
  claim?: { by: string; at: number; host?: string; pid?: number };
}

interface OutboxDocument {
  version: typeof OUTBOX_FORMAT_VERSION;
  results: KeptResult[];
}

/** What a delivery did with each result it claimed or produced. */
export type DeliveryVerdict =
  | { kind: "accepted" }
  | { kind: "refused"; reason: string; fix?: string }
  | { kind: "retry"; reason: string; fix?: string };

/** What `admit` found: the earlier results this delivery now holds, those too old to send, and a damaged document set aside. */
export interface Admission {
  /** Earlier runs' results this delivery holds, oldest first (this run's own are held too, not listed). */
  claimed: KeptResult[];
  tooOld: KeptResult[];
  damaged?: DamagedDocument;
}

/** What `release` left: how many results wait for a later run, and which were evicted at the cap. */
export interface Release {
  pending: number;
  evicted: KeptResult[];
  damaged?: DamagedDocument;
}

/** Identifies this process in a claim, so a run on the same host can tell that the claimant died. */
const SELF = { host: hostname(), pid: process.pid };

/**
 * Availability results on their way to ingestion, kept in the probe's state until it takes them.
 * A delivery:
 * 1. `admit`: puts its own results in, held by it (kept before sent: a process killed while sending
 *    loses nothing), and takes the earlier results no live delivery holds (oldest first);
 * 2. sends them in chunks, and after each chunk `settle`s: what ingestion accepted or refused
 *    leaves at once, so a crash re-sends at most the chunk in flight (at least once: ingestion has
 *    no idempotency key; README, "Lose nothing");
 * 3. `release`: the rest stays for a later run with its original id and time.
 * The claim is what keeps two overlapping runs from sending the same result twice: the other run
 * sees the results held and leaves them alone.
 */
export class Outbox {
  constructor(
    private readonly store: StateStore,
    private readonly now: () => number = Date.now,
    private readonly maxItems: number = OUTBOX_MAX_ITEMS,
  ) {}

  get description(): string {
    return this.store.description;
  }

  async admit(delivery: string, fresh: readonly AvailabilityItem[]): Promise<Admission> {
    const now = this.now();
    const found: { damaged?: DamagedDocument } = {};
    const outcome = await this.update<{ claimed: KeptResult[]; tooOld: KeptResult[] }>(
      (doc) => {
        const tooOld: KeptResult[] = [];
        const claimed: KeptResult[] = [];
        const results: KeptResult[] = [];
        const claim = { by: delivery, at: now, ...SELF };
        for (const r of doc.results) {
          if (!isFree(r, now)) results.push(r);
          else if (now - Date.parse(r.item.time) > OUTBOX_MAX_AGE_MS) tooOld.push(r);
          else {
            const mine = { ...r, claim };
            claimed.push(mine);
            results.push(mine);
          }
        }
        const known = new Set(results.map((r) => r.item.id));
        for (const item of fresh) {
          if (known.has(item.id)) continue;
          known.add(item.id);
          results.push({ item, attempts: 0, lastReason: "not sent yet", claim });
        }
        if (claimed.length === 0 && tooOld.length === 0 && fresh.length === 0)
          return { unchanged: { claimed: [], tooOld: [] } };
        return { next: { version: OUTBOX_FORMAT_VERSION, results }, result: { claimed: sortByTime(claimed), tooOld } };
      },
      (d) => (found.damaged = d),
    );
    return found.damaged ? { ...outcome, damaged: found.damaged } : outcome;
  }

  /** During the delivery: its results ingestion accepted or refused leave the outbox now. */
  async settle(delivery: string, verdicts: ReadonlyMap<string, DeliveryVerdict>): Promise<void> {
    await this.update((doc) => {
      const results = doc.results.filter((r) => !(r.claim?.by === delivery && isFinal(verdicts.get(r.item.id))));
      if (results.length === doc.results.length) return { unchanged: undefined };
      return { next: { version: OUTBOX_FORMAT_VERSION, results }, result: undefined };
    });
  }

  /**
   * After the delivery: its accepted and refused results leave; the others are released for a later
   * run, with one attempt more and the reason (those never sent keep theirs). Past maxItems (OUTBOX_MAX_ITEMS)
   * the results evictionOrder puts first leave, and are returned: they are lost, and said to be.
   */
  async release(delivery: string, verdicts: ReadonlyMap<string, DeliveryVerdict>): Promise<Release> {
    const found: { damaged?: DamagedDocument } = {};
    const outcome = await this.update(
      (doc) => {
        const results: KeptResult[] = [];
        for (const kept of doc.results) {
          if (kept.claim?.by !== delivery) {
            results.push(kept);
            continue;
          }
          const verdict = verdicts.get(kept.item.id);
          if (isFinal(verdict)) continue;
          const { claim: _released, ...rest } = kept;
          results.push(
            verdict?.kind === "retry" ? { ...rest, attempts: kept.attempts + 1, lastReason: verdict.reason } : rest,
          );
        }
        const { kept, evicted } = applyCap(results, this.maxItems);
        return { next: { version: OUTBOX_FORMAT_VERSION, results: kept }, result: { pending: kept.length, evicted } };
      },
      (d) => (found.damaged = d),
    );
    return found.damaged ? { ...outcome, damaged: found.damaged } : outcome;
  }

  private update<R>(
    change: (doc: OutboxDocument) => { next: OutboxDocument; result: R } | { unchanged: R },
    onDamaged?: (d: DamagedDocument) => void,
  ): Promise<R> {
    return updateDocument(this.store, DOCUMENT, OUTBOX_CODEC, change, {
      now: this.now,
      ...(onDamaged ? { onDamaged } : {}),
    });
  }
}

function isFinal(verdict: DeliveryVerdict | undefined): boolean {
  return verdict?.kind === "accepted" || verdict?.kind === "refused";
}

/**
 * Free to claim: held by no one, held past the TTL, or held by a process of this host that no longer
 * runs. (Two machines under one host name could take a live claim: at worst a result is sent twice,
 * never lost.)
 */
function isFree(result: KeptResult, now: number): boolean {
  const claim = result.claim;
  if (claim === undefined || now - claim.at > OUTBOX_CLAIM_TTL_MS) return true;
  return claim.host === SELF.host && typeof claim.pid === "number" && claim.pid !== SELF.pid && !processRuns(claim.pid);
}

function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs, as another user.
    return (error as { code?: unknown }).code === "EPERM";
  }
}

function sortByTime(results: readonly KeptResult[]): KeptResult[] {
  return [...results].sort((a, b) => Date.parse(a.item.time) - Date.parse(b.item.time));
}

/**
 * Which results go first when the outbox is full: passes before anything else, `security` last, and
 * within one outcome the oldest first. A security finding or a failure is never evicted while a
 * pass remains: they are what an alert is for.
 */
const EVICTION_RANK: Record<string, number> = { skipped: 0, pass: 0, blocked: 1, error: 2, fail: 3, security: 4 };

export function evictionOrder(a: KeptResult, b: KeptResult): number {
  return rankOf(a) - rankOf(b) || Date.parse(a.item.time) - Date.parse(b.item.time);
}

function rankOf(result: KeptResult): number {
  const outcome = result.item.properties["outcome"];
  return (outcome !== undefined ? EVICTION_RANK[outcome] : undefined) ?? 2;
}

function applyCap(results: readonly KeptResult[], cap: number): { kept: KeptResult[]; evicted: KeptResult[] } {
  if (results.length <= cap) return { kept: sortByTime(results), evicted: [] };
  const byEviction = [...results].sort(evictionOrder);
  const evicted = byEviction.slice(0, results.length - cap);
  const gone = new Set(evicted);
  return { kept: sortByTime(results.filter((r) => !gone.has(r))), evicted };
}

const OUTBOX_CODEC: DocumentCodec<OutboxDocument> = {
  parse(text) {
    const empty: OutboxDocument = { version: OUTBOX_FORMAT_VERSION, results: [] };
    if (text === undefined) return empty;
    try {
      const value = JSON.parse(text) as { version?: unknown; results?: unknown } | null;
      // Another version's results are not ours to interpret: its copy is kept (damage below).
      if (value?.version !== OUTBOX_FORMAT_VERSION || !Array.isArray(value.results)) return empty;
      return { version: OUTBOX_FORMAT_VERSION, results: value.results.filter(isKeptResult) };
    } catch {
      return empty;
    }
  },
  serialize: (value) => JSON.stringify(value),
  damage(text) {
    if (text.trim() === "") return "empty";
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return "not JSON (truncated or garbage)";
    }
    const doc = value as { version?: unknown; results?: unknown } | null;
    if (typeof doc !== "object" || doc === null || !Array.isArray(doc.results))
      return "not an outbox document (no results list)";
    if (doc.version !== OUTBOX_FORMAT_VERSION)
      return `format version ${JSON.stringify(doc.version) ?? "missing"}; this release reads version ${OUTBOX_FORMAT_VERSION}`;
    const unreadable = doc.results.filter((r) => !isKeptResult(r)).length;
    return unreadable > 0 ? `${unreadable} of ${doc.results.length} results unreadable` : undefined;
  },
};

function isKeptResult(value: unknown): value is KeptResult {
  const kept = value as { item?: Partial<AvailabilityItem>; attempts?: unknown } | null;
  const item = kept?.item;
  return (
    typeof item?.id === "string" &&
    typeof item.name === "string" &&
    typeof item.time === "string" &&
    !Number.isNaN(Date.parse(item.time)) &&
    typeof item.properties === "object" &&
    item.properties !== null &&
    typeof kept?.attempts === "number"
  );
}
