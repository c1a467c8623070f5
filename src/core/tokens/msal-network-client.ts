import { AsyncLocalStorage } from "node:async_hooks";
import type { NodeSystemOptions } from "@azure/msal-node";
import { request, type Dispatcher } from "undici";
import { UnsafeRequestError, type TransportError } from "../errors.js";
import { assertAllowedUrl } from "../http/origin-guard.js";
import { toTransportError } from "../http/transport-error.js";

type NetworkModule = NonNullable<NodeSystemOptions["networkClient"]>;
type NetworkResponse<T> = Awaited<ReturnType<NetworkModule["sendGetRequestAsync"]>> & { body: T };

/** What the network client saw that MSAL's errors lose: the status of a non-JSON answer, a transport failure. */
export interface TokenCallObservation {
  status?: number;
  retryAfterSeconds?: number;
  nonJsonBody?: boolean;
  transport?: TransportError;
  /** The request was sent a second time after a 5xx (Entra's transient failures). */
  retried?: boolean;
  /** The origin guard refused a URL (e.g. a discovery document naming a token endpoint elsewhere); MSAL would report it as network_error. */
  refused?: UnsafeRequestError;
  /** An answer longer than MAX_TOKEN_RESPONSE_BYTES: reading stopped there (origin and status of that answer). */
  tooLarge?: { origin: string; status: number };
}

/**
 * The longest answer read from Entra (token, discovery, instance metadata, keys): each is a few KB.
 * An endless body (a broken proxy, a captive portal, a hostile endpoint) would otherwise grow the
 * process without bound until the deadline; reading stops here and the acquisition fails, named.
 */
export const MAX_TOKEN_RESPONSE_BYTES = 1024 * 1024;

/** Thrown by the network client past MAX_TOKEN_RESPONSE_BYTES; translateMsalError names it from the observation. */
export class TokenResponseTooLargeError extends Error {
  constructor(
    readonly origin: string,
    readonly status: number,
  ) {
    super(`the answer from ${origin} (${status}) is larger than ${MAX_TOKEN_RESPONSE_BYTES} bytes`);
    this.name = "TokenResponseTooLargeError";
  }
}

async function readBounded(res: Dispatcher.ResponseData, origin: string): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_TOKEN_RESPONSE_BYTES) {
      res.body.destroy();
      throw new TokenResponseTooLargeError(origin, res.statusCode);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * Each token acquisition runs inside `observe.run({}, ...)`; the network client records into the
 * store of the acquisition it serves (async context, so concurrent acquisitions do not mix).
 */
export const tokenCallObservation = new AsyncLocalStorage<TokenCallObservation>();

/**
 * MSAL's `system.networkClient` on undici with the injected dispatcher: the sandbox CA is trusted,
 * tests can swap the transport, the origin guard applies (https, the authority's origin only), and
 * every call has a deadline.
 */
export function createMsalNetworkClient(deps: {
  dispatcher: Dispatcher;
  allowedOrigins: ReadonlySet<string>;
  timeoutMs: number;
}): NetworkModule {
  async function send<T>(
    method: "GET" | "POST",
    url: string,
    options?: { headers?: Record<string, string>; body?: string },
    timeout?: number,
  ): Promise<NetworkResponse<T>> {
    const observation = tokenCallObservation.getStore();
    let target: URL;
    try {
      target = assertAllowedUrl(url, deps.allowedOrigins);
    } catch (error) {
      if (observation && error instanceof UnsafeRequestError) observation.refused = error;
      throw error;
    }
    const deadline = Math.min(timeout ?? deps.timeoutMs, deps.timeoutMs);
    const once = async (): Promise<{ res: Dispatcher.ResponseData; text: string }> => {
      try {
        const res = await request(target, {
          dispatcher: deps.dispatcher,
          method,
          headers: options?.headers ?? {},
          ...(method === "POST" ? { body: options?.body ?? "" } : {}),
          signal: AbortSignal.timeout(deadline),
          headersTimeout: deadline,
          bodyTimeout: deadline,
        });
        return { res, text: await readBounded(res, target.origin) };
      } catch (error) {
        if (error instanceof TokenResponseTooLargeError) {
          if (observation) observation.tooLarge = { origin: error.origin, status: error.status };
          throw error;
        }
        const transport = toTransportError(error, target.origin, deadline);
        if (observation && transport) observation.transport = transport;
        throw transport ?? error;
      }
    };
    let { res, text } = await once();
    // An Entra 5xx is transient on Microsoft's side: one more try, here, before MSAL sees the answer,
    // because MSAL refuses an identical request for 60 s after a 5xx (its throttling cache). A token
    // request is idempotent. Not after a timeout: that would double the run's wait.
    if (res.statusCode >= 500 && method === "POST") {
      if (observation) observation.retried = true;
      ({ res, text } = await once());
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(res.headers))
      if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(", ") : v;
    if (observation) {
      observation.status = res.statusCode;
      const retryAfter = Number(headers["retry-after"]);
      if (Number.isFinite(retryAfter)) observation.retryAfterSeconds = retryAfter;
    }
    let body: T;
    try {
      body = JSON.parse(text) as T;
    } catch {
      // MSAL turns a non-JSON body (Entra's plain-text 429, docs/REFERENCE.md §2) into
      // token_parsing_error; the observation keeps the status so we can still say "throttled".
      if (observation) observation.nonJsonBody = true;
      body = {} as T;
      if (res.statusCode >= 400) throw new Error(`token endpoint answered ${res.statusCode} with a non-JSON body`);
    }
    return { headers, body, status: res.statusCode };
  }
  return {
    sendGetRequestAsync: (url, options, timeout) => send("GET", url, options, timeout),
    sendPostRequestAsync: (url, options) => send("POST", url, options),
  };
}
