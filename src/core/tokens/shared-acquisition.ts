import { TokenAcquisitionError } from "../errors.js";
import type { AcquiredToken, ClientRole, TokenSource } from "./token-source.js";

/**
 * How long Entra's refusal of a token request is believed before asking again. The unassigned-client
 * probe expects a refusal (AADSTS501051) on every run, and MSAL caches tokens, not refusals: without
 * this, each run of each target would ask Entra again, and Entra throttles. 15 minutes keeps the
 * requests to a few an hour per client and scope while a newly granted role still shows within three
 * runs of the default 5-minute schedule.
 */
export const REFUSAL_MEMORY_MS = 15 * 60_000;

export interface SharedAcquisitionOptions {
  now: () => number;
  refusalMemoryMs?: number;
}

/**
 * One token request per client and scope at a time, and refusals remembered: targets that share a
 * scope (and concurrent probes of one target) share one request, and a definitive refusal is
 * answered from memory until it ages. Throttling and transport failures are never remembered.
 */
export function withSharedAcquisition(source: TokenSource, options: SharedAcquisitionOptions): TokenSource {
  const memoryMs = options.refusalMemoryMs ?? REFUSAL_MEMORY_MS;
  const inFlight = new Map<string, Promise<AcquiredToken>>();
  const refusals = new Map<string, { error: TokenAcquisitionError; until: number }>();

  return {
    acquire(client: ClientRole, scope: string, signal?: AbortSignal): Promise<AcquiredToken> {
      const key = `${client}\n${scope}`;
      const refusal = refusals.get(key);
      if (refusal && options.now() < refusal.until) return Promise.reject(refusal.error);
      refusals.delete(key);

      let attempt = inFlight.get(key);
      if (!attempt) {
        attempt = source.acquire(client, scope, signal).then(
          (token) => token,
          (error: unknown) => {
            if (isDefinitiveRefusal(error)) refusals.set(key, { error, until: options.now() + memoryMs });
            throw error;
          },
        );
        const settled = () => inFlight.delete(key);
        attempt.then(settled, settled);
        inFlight.set(key, attempt);
      }
      return attempt;
    },
  };
}

/** Entra answered and said no (an AADSTS code, 4xx other than 429): asking again will not change it soon. */
function isDefinitiveRefusal(error: unknown): error is TokenAcquisitionError {
  if (!(error instanceof TokenAcquisitionError)) return false;
  const { aadsts, status } = error.details;
  return aadsts !== undefined && status !== undefined && status >= 400 && status < 500 && status !== 429;
}
