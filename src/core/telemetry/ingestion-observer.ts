import type { PipelinePolicy, PipelineRequest, PipelineResponse, SendRequest } from "@azure/core-rest-pipeline";
import { escapeRemoteText } from "../http/remote-text.js";
import { statusProblem, transportProblem } from "./ingestion-problems.js";

/** What ingestion finally said about one availability item, keyed by its `baseData.id`; a refusal names the host, the status or error, and the fix. */
export type ItemVerdict = { accepted: true } | { accepted: false; reason: string; retriable: boolean; fix?: string };

/**
 * Answers after which the same item may be accepted later: timeouts, throttling (429, and 439, the
 * daily cap), the service's own failures, and 401/403, an authentication that can be fixed (Entra
 * ingestion's token, a role not yet assigned). A 400 or 413 is about the item itself: sending it
 * again would be refused again.
 */
export function isRetriableStatus(status: number): boolean {
  return status === 401 || status === 403 || status === 408 || status === 429 || status === 439 || status >= 500;
}

/**
 * Why this exists: with offline storage disabled, the exporter reports SUCCESS for a batch it failed
 * to send and could not "persist" (BaseSender.persist -> FileSystemPersist.push returns true), and the
 * SDK's flush() swallows export errors anyway. So the only trustworthy record of what ingestion took
 * is ingestion's own answer. This pipeline policy sits outside the retry policy ("perCall"), so it
 * sees the final answer after in-memory retries, and records a verdict per availability item id.
 */
export interface IngestionObserver {
  readonly policy: PipelinePolicy;
  /** Verdicts seen so far for these ids (ids without an answer are absent). */
  verdicts(ids: readonly string[]): Map<string, ItemVerdict>;
  /** Resolves once every id has a verdict, or after `waitMs`, whichever comes first. */
  settled(ids: readonly string[], waitMs: number): Promise<void>;
  forget(ids: readonly string[]): void;
}

interface TrackResponseBody {
  errors?: { index?: number; statusCode?: number; message?: string }[];
}

export function createIngestionObserver(): IngestionObserver {
  const verdicts = new Map<string, ItemVerdict>();
  const listeners = new Set<() => void>();
  const notify = (): void => {
    for (const listener of listeners) listener();
  };

  const policy: PipelinePolicy = {
    name: "apimSmokeProbeIngestionObserver",
    async sendRequest(request: PipelineRequest, next: SendRequest): Promise<PipelineResponse> {
      const ids = request.url.endsWith("/track") ? availabilityIdsByIndex(request.body) : new Map<number, string>();
      if (ids.size === 0) return next(request);

      const host = hostOf(request.url);
      let response: PipelineResponse;
      try {
        response = await next(request);
      } catch (error) {
        const problem = transportProblem(host, describeError(error));
        for (const id of ids.values()) verdicts.set(id, { accepted: false, retriable: true, ...problem });
        notify();
        throw error;
      }

      if (response.status === 200) {
        for (const id of ids.values()) verdicts.set(id, { accepted: true });
      } else if (response.status === 206 || response.status === 400) {
        const refused = refusedIndexes(response.bodyAsText);
        for (const [index, id] of ids) {
          const error =
            refused === undefined
              ? {
                  reason: `ingestion at ${host} answered ${response.status} with an unreadable body`,
                  retriable: response.status === 206,
                }
              : refused.get(index);
          verdicts.set(id, error === undefined ? { accepted: true } : { accepted: false, ...error });
        }
      } else {
        const retriable = isRetriableStatus(response.status);
        const problem = statusProblem(host, response.status);
        for (const id of ids.values()) verdicts.set(id, { accepted: false, retriable, ...problem });
      }
      notify();
      return response;
    },
  };

  return {
    policy,
    verdicts(ids) {
      const found = new Map<string, ItemVerdict>();
      for (const id of ids) {
        const verdict = verdicts.get(id);
        if (verdict !== undefined) found.set(id, verdict);
      }
      return found;
    },
    settled(ids, waitMs) {
      return new Promise<void>((resolve) => {
        const check = (): void => {
          if (!ids.every((id) => verdicts.has(id))) return;
          done();
        };
        const timer = setTimeout(() => done(), waitMs);
        const done = (): void => {
          clearTimeout(timer);
          listeners.delete(check);
          resolve();
        };
        listeners.add(check);
        check();
      });
    },
    forget(ids) {
      for (const id of ids) verdicts.delete(id);
    },
  };
}

/** `index in the batch -> baseData.id` for the AvailabilityData items of a `/track` body. */
function availabilityIdsByIndex(body: unknown): Map<number, string> {
  const ids = new Map<number, string>();
  const text =
    typeof body === "string" ? body : body instanceof Uint8Array ? Buffer.from(body).toString("utf8") : undefined;
  if (text === undefined) return ids;
  let items: unknown;
  try {
    items = JSON.parse(text);
  } catch {
    return ids;
  }
  if (!Array.isArray(items)) return ids;
  items.forEach((item: unknown, index) => {
    const data = (item as { data?: { baseType?: unknown; baseData?: { id?: unknown } } } | null)?.data;
    if (data?.baseType === "AvailabilityData" && typeof data.baseData?.id === "string")
      ids.set(index, data.baseData.id);
  });
  return ids;
}

/** `index -> reason` for the items ingestion refused; undefined when its answer cannot be read. */
function refusedIndexes(
  bodyAsText: string | null | undefined,
): Map<number, { reason: string; retriable: boolean }> | undefined {
  const refused = new Map<number, { reason: string; retriable: boolean }>();
  try {
    const body = JSON.parse(bodyAsText ?? "") as TrackResponseBody;
    for (const error of body.errors ?? []) {
      if (typeof error.index === "number") {
        // Ingestion's own text about our envelope; it never echoes a secret we did not send, but it is
        // remote text on its way to the terminal and the log: control characters shown escaped.
        const reason = `refused ${error.statusCode ?? "?"}: ${escapeRemoteText(String(error.message ?? "").slice(0, 200))}`;
        refused.set(error.index, {
          reason,
          retriable: typeof error.statusCode === "number" && isRetriableStatus(error.statusCode),
        });
      }
    }
  } catch {
    return undefined;
  }
  return refused;
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return "the ingestion endpoint";
  }
}

/** The transport's code (ECONNREFUSED, SELF_SIGNED_CERT_IN_CHAIN...), also when core-rest-pipeline wrapped it. */
function describeError(error: unknown): string {
  const cause = (error as { cause?: unknown } | null)?.cause;
  const own = (error as { code?: unknown } | null)?.code;
  if (own === "REQUEST_SEND_ERROR" && cause !== undefined) return describeError(cause);
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === "string") return code;
  return error instanceof Error ? error.name : "unknown error";
}
