import type { Secret } from "../settings/secret.js";
import { expiresAtMs } from "./summary.js";

/**
 * How long past `exp` a token must be before it is sent as "expired", beyond the gateway's own
 * clock-skew allowance: the difference between our clock and the gateway's (NTP-synced hosts are
 * within a second of each other; 10 s leaves room for a host that is not).
 */
export const HOST_CLOCK_MARGIN_MS = 10_000;

/**
 * The clock-skew to assume when the gateway's policy is not known: 300 s, the most a reasonable
 * validate-jwt allows (the linter warns above it). A token sent as expired before the gateway's
 * skew has passed would get in and be reported `security`: a false alarm of the worst kind.
 */
export const UNKNOWN_POLICY_CLOCK_SKEW_MS = 300_000;

/** The margin past `exp` for a target: the policy's clock-skew when known, plus our clock margin. */
export function expiryMarginMs(policyClockSkewSeconds: number | undefined): number {
  return (
    (policyClockSkewSeconds === undefined ? UNKNOWN_POLICY_CLOCK_SKEW_MS : policyClockSkewSeconds * 1000) +
    HOST_CLOCK_MARGIN_MS
  );
}

interface Kept {
  token: Secret;
  expMs: number;
}

/** One remembered token, as the probe's state keeps it between processes (sealed: state/harvest.ts). */
export interface HarvestEntry {
  scope: string;
  /** `pending`: not aged yet; `current`: the expired one the probe sends. */
  slot: "pending" | "current";
  token: Secret;
  expMs: number;
}

/**
 * Keeps valid tokens in memory so that, once one is past `exp` + margin, the expired-token probe
 * can send a real, tenant-signed expired token. In memory; `entries`/`restore` let the probe's
 * state carry them, sealed, to the next process (a Function app instance is recycled long before
 * a token ages).
 *
 * Per scope it keeps two: `pending`, the earliest token remembered that has not aged yet, and
 * `current`, the expired one the probe sends. A newer token never displaces `pending`: MSAL renews
 * before expiry, so with any token lifetime the newest one never ages, and keeping the newest
 * (as this store did first) left the probe skipped for ever under short lifetimes. Once `pending`
 * has aged it becomes `current`, so the token sent stays recent (its signing key still published).
 */
export class ExpiredTokenStore {
  readonly #byScope = new Map<string, { pending?: Kept; current?: Kept }>();
  readonly #now: () => number;
  /** Fixed margin for every scope (tests, the demo); otherwise each call passes its target's. */
  readonly #marginMs: number | undefined;

  constructor(options: { now: () => number; marginMs?: number }) {
    this.#now = options.now;
    this.#marginMs = options.marginMs;
  }

  /** Remember a freshly acquired valid token for `scope`. */
  remember(scope: string, token: Secret): void {
    const expMs = expiresAtMs(token.reveal());
    if (expMs === undefined) return;
    const entry = this.#byScope.get(scope) ?? {};
    if (entry.pending === undefined && entry.current?.token.reveal() !== token.reveal())
      entry.pending = { token, expMs };
    this.#byScope.set(scope, entry);
  }

  /** Everything remembered, for the probe's state. */
  entries(): HarvestEntry[] {
    const entries: HarvestEntry[] = [];
    for (const [scope, entry] of this.#byScope) {
      if (entry.pending) entries.push({ scope, slot: "pending", ...entry.pending });
      if (entry.current) entries.push({ scope, slot: "current", ...entry.current });
    }
    return entries;
  }

  /**
   * Takes what an earlier process remembered, where this one remembers nothing yet: a token this
   * process holds is as good and never displaced.
   */
  restore(entries: readonly HarvestEntry[]): void {
    for (const { scope, slot, token, expMs } of entries) {
      const entry = this.#byScope.get(scope) ?? {};
      if (entry[slot] === undefined) entry[slot] = { token, expMs };
      this.#byScope.set(scope, entry);
    }
  }

  /** The token for `scope` whose `exp` + margin has passed, if any. */
  expired(scope: string, marginMs: number = this.#marginMs ?? expiryMarginMs(undefined)): Secret | undefined {
    const entry = this.#byScope.get(scope);
    if (!entry) return undefined;
    const cutoff = this.#now() - (this.#marginMs ?? marginMs);
    if (entry.pending && entry.pending.expMs <= cutoff) {
      entry.current = entry.pending;
      delete entry.pending;
    }
    return entry.current?.token;
  }
}
