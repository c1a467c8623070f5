import type { SigningKeyResolver } from "../../policy/index.js";

/** The tenant's signing keys that appeared or left since the previous run. */
export interface SigningKeyChange {
  added: string[];
  removed: string[];
}

/**
 * Records the tenant's published signing key ids run after run, so a rollover is
 * reported on the token result the run it happens: Entra publishes the next key before it signs
 * with it, and a policy with pinned keys, or a cache that never refreshes, breaks then. Asking with
 * the token's own kid makes the resolver refetch the document when that kid is new to it (APIM's
 * rule: at most every 5 minutes), so a rollover is seen without waiting out the hourly cache.
 */
export class SigningKeyWatch {
  #known: Set<string> | undefined;

  constructor(
    private readonly metadataUrl: string,
    private readonly resolver: SigningKeyResolver,
  ) {}

  /** The change since the previous observation; undefined the first time, when unchanged, or when the keys cannot be read. */
  async observe(tokenKid: string | undefined): Promise<SigningKeyChange | undefined> {
    let kids: Set<string>;
    try {
      const config = await this.resolver.resolve(this.metadataUrl, tokenKid === undefined ? {} : { kid: tokenKid });
      kids = new Set(config.keys.map((k) => k.kid).filter((k): k is string => typeof k === "string"));
    } catch {
      return undefined;
    }
    const previous = this.#known;
    this.#known = kids;
    if (previous === undefined) return undefined;
    const added = [...kids].filter((k) => !previous.has(k));
    const removed = [...previous].filter((k) => !kids.has(k));
    return added.length > 0 || removed.length > 0 ? { added, removed } : undefined;
  }
}
