import { Secret } from "../settings/secret.js";
import type { TokenHistory, TokenShape } from "../tokens/drift.js";
import type { ExpiredTokenStore, HarvestEntry } from "../tokens/expired-token-store.js";
import { Outbox } from "./outbox.js";
import type { StateKey } from "./state-key.js";
import { jsonCodec, updateDocument, type DamagedDocument, type DocumentCodec, type StateStore } from "./store.js";

interface SealedEntry {
  scope: string;
  slot: HarvestEntry["slot"];
  expMs: number;
  /** StateKey.id of the key that sealed it. */
  keyId: string;
  sealed: string;
}

interface HarvestDocument {
  version: 1;
  entries: SealedEntry[];
}

interface TokensDocument {
  version: 1;
  /** `<client id> <scope>` -> the last token's shape (no token, only the claims compared). */
  byClientAndScope: Record<string, TokenShape & { seenAt: string }>;
}

/** A sealed token is kept this long past its exp: long enough for any margin, then it is of no use. */
const HARVEST_KEEP_PAST_EXP_MS = 24 * 60 * 60_000;

/**
 * What a probe keeps between processes, in one store: the outbox of availability
 * results, the expired-token harvest (sealed with PROBE_STATE_KEY; without the key it is not kept)
 * and the last token shape per client and scope (for token drift). The engine loads before each run
 * and saves after it; a store that fails is reported to `onProblem`, and the run goes on from memory.
 */
export class ProbeState {
  readonly outbox: Outbox;
  /** Damaged documents (harvest, token summaries) set aside since the last takeDamaged(). */
  #damaged: DamagedDocument[] = [];

  constructor(
    readonly store: StateStore,
    private readonly key: StateKey | undefined,
    private readonly now: () => number = Date.now,
  ) {
    this.outbox = new Outbox(store, now);
  }

  /**
   * The harvest's or the token summaries' documents found damaged (and copied aside) since the last
   * call, for the caller to say so: a damaged state is never replaced in silence. (The outbox reports
   * its own through the telemetry outcome.)
   */
  takeDamaged(): DamagedDocument[] {
    const damaged = this.#damaged;
    this.#damaged = [];
    return damaged;
  }

  private get updates(): { onDamaged: (d: DamagedDocument) => void; now: () => number } {
    return { onDamaged: (d) => this.#damaged.push(d), now: this.now };
  }

  /** Whether tokens are kept (sealed): false means the harvest lives in this process's memory only. */
  get keepsTokens(): boolean {
    return this.key !== undefined;
  }

  async loadHarvest(into: ExpiredTokenStore): Promise<void> {
    if (!this.key) return;
    const doc = HARVEST_CODEC.parse((await this.store.read("expired-tokens"))?.text);
    const entries: HarvestEntry[] = [];
    for (const entry of doc.entries) {
      if (entry.keyId !== this.key.id) continue;
      const token = this.key.open(entry.sealed, entry.scope);
      if (token !== undefined)
        entries.push({ scope: entry.scope, slot: entry.slot, expMs: entry.expMs, token: new Secret(token) });
    }
    into.restore(entries);
  }

  async saveHarvest(from: ExpiredTokenStore): Promise<void> {
    const key = this.key;
    if (!key) return;
    const mine = from.entries();
    const now = this.now();
    await updateDocument(
      this.store,
      "expired-tokens",
      HARVEST_CODEC,
      (doc) => {
        const sealed = new Map<string, SealedEntry>();
        // Another instance's tokens for scopes this process does not hold stay; this process's replace them.
        for (const entry of doc.entries) sealed.set(`${entry.slot} ${entry.scope}`, entry);
        for (const entry of mine) {
          const at = `${entry.slot} ${entry.scope}`;
          const previous = sealed.get(at);
          if (previous?.keyId === key.id && previous.expMs === entry.expMs) continue;
          sealed.set(at, {
            scope: entry.scope,
            slot: entry.slot,
            expMs: entry.expMs,
            keyId: key.id,
            sealed: key.seal(entry.token.reveal(), entry.scope),
          });
        }
        const entries = [...sealed.values()].filter(
          (e) => e.keyId === key.id && e.expMs + HARVEST_KEEP_PAST_EXP_MS > now,
        );
        if (sameEntries(entries, doc.entries)) return { unchanged: undefined };
        return { next: { version: 1 as const, entries }, result: undefined };
      },
      this.updates,
    );
  }

  async loadTokenHistory(into: TokenHistory): Promise<void> {
    const doc = TOKENS_CODEC.parse((await this.store.read("tokens"))?.text);
    into.begin(
      new Map(Object.entries(doc.byClientAndScope).map(([key, { seenAt: _seenAt, ...shape }]) => [key, shape])),
    );
  }

  async saveTokenHistory(from: TokenHistory): Promise<void> {
    const seen = from.seen();
    if (seen.size === 0) return;
    const seenAt = new Date(this.now()).toISOString();
    await updateDocument(
      this.store,
      "tokens",
      TOKENS_CODEC,
      (doc) => {
        const byClientAndScope = { ...doc.byClientAndScope };
        for (const [key, shape] of seen) byClientAndScope[key] = { ...shape, seenAt };
        return { next: { version: 1 as const, byClientAndScope }, result: undefined };
      },
      this.updates,
    );
  }
}

function sameEntries(a: readonly SealedEntry[], b: readonly SealedEntry[]): boolean {
  return a.length === b.length && a.every((e, i) => e.sealed === b[i]?.sealed);
}

const HARVEST_CODEC: DocumentCodec<HarvestDocument> = {
  ...jsonCodec<HarvestDocument>(
    (value) => {
      const entries = (value as { entries?: unknown } | null)?.entries;
      if (!Array.isArray(entries)) return undefined;
      return { version: 1, entries: entries.filter(isSealedEntry) };
    },
    () => ({ version: 1, entries: [] }),
  ),
  damage: (text) => damageOf(text, "entries", (v) => Array.isArray(v)),
};

/** What is wrong with a version-1 document whose `field` must pass `valid`; undefined when nothing is. */
function damageOf(text: string, field: string, valid: (value: unknown) => boolean): string | undefined {
  if (text.trim() === "") return "empty";
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return "not JSON (truncated or garbage)";
  }
  const doc = value as Record<string, unknown> | null;
  if (typeof doc !== "object" || doc === null || !valid(doc[field])) return `not the document expected (no ${field})`;
  if (doc["version"] !== 1)
    return `format version ${JSON.stringify(doc["version"]) ?? "missing"}; this release reads version 1`;
  return undefined;
}

function isSealedEntry(value: unknown): value is SealedEntry {
  const e = value as Partial<SealedEntry> | null;
  return (
    typeof e?.scope === "string" &&
    (e.slot === "pending" || e.slot === "current") &&
    typeof e.expMs === "number" &&
    typeof e.keyId === "string" &&
    typeof e.sealed === "string"
  );
}

const TOKENS_CODEC: DocumentCodec<TokensDocument> = {
  ...jsonCodec<TokensDocument>(
    (value) => {
      const byClientAndScope = (value as { byClientAndScope?: unknown } | null)?.byClientAndScope;
      if (typeof byClientAndScope !== "object" || byClientAndScope === null) return undefined;
      const kept: TokensDocument["byClientAndScope"] = {};
      for (const [key, shape] of Object.entries(byClientAndScope as Record<string, unknown>)) {
        const s = shape as Partial<TokenShape & { seenAt: string }> | null;
        if (Array.isArray(s?.roles) && typeof s.seenAt === "string")
          kept[key] = { ...s, roles: s.roles.filter((r): r is string => typeof r === "string"), seenAt: s.seenAt };
      }
      return { version: 1, byClientAndScope: kept };
    },
    () => ({ version: 1, byClientAndScope: {} }),
  ),
  damage: (text) => damageOf(text, "byClientAndScope", (v) => typeof v === "object" && v !== null),
};
