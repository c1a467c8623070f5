import type { Secret } from "../settings/secret.js";
import { expiresAtMs } from "./summary.js";

/** How long past `exp` a token must be before we use it: clock skew between us and the gateway. */
export const DEFAULT_EXPIRY_MARGIN_MS = 60_000;
/** Tokens remembered per scope. MSAL renews 5 minutes before expiry, so the newest token never ages: keep a few older ones. */
const MAX_TOKENS_PER_SCOPE = 3;

/**
 * Keeps recent valid tokens in memory so that, once one is past `exp` + margin, the expired-token
 * probe can send a real, tenant-signed expired token. Memory only: never written anywhere.
 */
export class ExpiredTokenStore {
  readonly #byScope = new Map<string, { token: Secret; expMs: number }[]>();
  readonly #now: () => number;
  readonly #marginMs: number;

  constructor(options: { now: () => number; marginMs?: number }) {
    this.#now = options.now;
    this.#marginMs = options.marginMs ?? DEFAULT_EXPIRY_MARGIN_MS;
  }

  /** Remember a freshly acquired valid token for `scope`. */
  remember(scope: string, token: Secret): void {
    const expMs = expiresAtMs(token.reveal());
    if (expMs === undefined) return;
    const list = this.#byScope.get(scope) ?? [];
    if (list.some((t) => t.token.reveal() === token.reveal())) return;
    list.push({ token, expMs });
    list.sort((a, b) => a.expMs - b.expMs);
    // Keep the newest expired one (the probe's input) and the most recent live ones.
    while (list.length > MAX_TOKENS_PER_SCOPE) list.shift();
    this.#byScope.set(scope, list);
  }

  /** The most recent token for `scope` whose `exp` + margin has passed, if any. */
  expired(scope: string): Secret | undefined {
    const cutoff = this.#now() - this.#marginMs;
    const list = this.#byScope.get(scope) ?? [];
    const aged = list.filter((t) => t.expMs <= cutoff);
    const newest = aged.at(-1);
    if (newest) {
      // Older aged tokens are of no further use.
      this.#byScope.set(scope, list.filter((t) => t.expMs > cutoff || t === newest));
    }
    return newest?.token;
  }
}
