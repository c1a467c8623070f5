import type { PreflightOutcome } from "../diagnosis/index.js";
import type { ApimPolicy } from "../../policy/index.js";

/** How long a verdict is reused: far inside any token lifetime, long enough for one run's targets. */
const TTL_MS = 5_000;
const MAX_ENTRIES = 256;

/**
 * Preflight verdicts shared by targets with the same policy: an estate of 300 APIs under one global
 * validate-jwt would otherwise verify the same token's RSA signature 600 times a run (bench figure 7).
 * Keyed by the token's signature part (unique per token, not a credential alone) and the policy's
 * content; kept a few seconds only, so an expiry is never judged on a stale verdict for long.
 */
export class PreflightCache {
  readonly #entries = new Map<string, { atMs: number; verdict: Promise<PreflightOutcome | undefined> }>();
  readonly #policyKeys = new WeakMap<ApimPolicy, string>();

  constructor(private readonly now: () => number) {}

  verdict(
    token: string,
    policy: ApimPolicy,
    kind: string,
    judge: () => Promise<PreflightOutcome | undefined>,
  ): Promise<PreflightOutcome | undefined> {
    const key = `${kind}\u0000${token.slice(token.lastIndexOf(".") + 1)}\u0000${this.#policyKey(policy)}`;
    const now = this.now();
    const hit = this.#entries.get(key);
    if (hit && now - hit.atMs < TTL_MS) return hit.verdict;
    const verdict = judge();
    this.#entries.set(key, { atMs: now, verdict });
    if (this.#entries.size > MAX_ENTRIES) this.#entries.delete(this.#entries.keys().next().value!);
    return verdict;
  }

  /** The checks as the evaluator reads them; where they stand (file, line) does not change a verdict. */
  #policyKey(policy: ApimPolicy): string {
    let key = this.#policyKeys.get(policy);
    if (key === undefined) {
      key = JSON.stringify(
        policy.tokenChecks.map(({ source: _s, line: _l, notEvaluable: _n, ...check }) => check),
        (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString("base64") : v),
      );
      this.#policyKeys.set(policy, key);
    }
    return key;
  }
}
