import { createServer, type Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { SandboxWaitTimeoutError } from "../../core/errors.js";
import { decodeTrackBody, INVALID_LINE } from "./body.js";
import { checkEnvelope, type AvailabilityEnvelope, type Envelope } from "./schema.js";

/**
 * The instrumentation key the sandbox hands out by default. Fixed (not random) so that dashboards
 * and queries built against the sandbox keep working from run to run; it is not a secret (an iKey
 * only routes data, it grants no read access).
 */
export const SANDBOX_INSTRUMENTATION_KEY = "5e1c7a94-2b3d-4f68-9a0e-7c4d2b8f1a36";

/** What the next `/track` calls answer. */
export type IngestionFault =
  /** The next `times` batches fail as a whole with `status` (429/439/503 carry `Retry-After`). */
  | { status: 500 | 503 | 429 | 439; retryAfterSeconds?: number; times: number }
  /** Until cleared, every `rejectEvery`-th item of a batch is refused with 500 and the batch answers 206. */
  | { partial: { rejectEvery: number } };

export interface TrackError {
  index: number;
  statusCode: number;
  message: string;
}

/** The body ingestion answers `/track` with (docs/REFERENCE.md §4). */
export interface TrackResponse {
  itemsReceived: number;
  itemsAccepted: number;
  errors: TrackError[];
}

export interface RejectedItem extends TrackError {
  /** The item as posted (parsed JSON), for assertions. */
  item: unknown;
  receivedAt: number;
}

export interface TrackRequestRecord {
  path: string;
  status: number;
  itemsReceived: number;
  itemsAccepted: number;
  /** Set when the answer came from `setFault`. */
  faulted: boolean;
  receivedAt: number;
}

/** Anything posted to a path other than `/track`: live metrics pings, statsbeat, probes. */
export interface OtherRequestRecord {
  method: string;
  path: string;
  bytes: number;
  receivedAt: number;
}

export interface IngestionEmulator {
  /** `https://127.0.0.1:PORT`. */
  readonly origin: string;
  /** The default instrumentation key (always known to the emulator). */
  readonly instrumentationKey: string;
  /**
   * `InstrumentationKey=...;IngestionEndpoint=https://127.0.0.1:PORT/;LiveEndpoint=https://127.0.0.1:PORT/`.
   * A key passed here becomes known to the emulator; envelopes with any other key are refused.
   */
  connectionString(instrumentationKey?: string): string;
  accepted(): readonly Envelope[];
  /** Accepted envelopes whose `data.baseType` is `AvailabilityData`. */
  availability(): readonly AvailabilityEnvelope[];
  rejected(): readonly RejectedItem[];
  requests(): readonly TrackRequestRecord[];
  other(): readonly OtherRequestRecord[];
  setFault(fault: IngestionFault | undefined): void;
  /** Resolves with the availability envelopes once at least `count` were accepted. */
  waitForAvailability(count: number, timeoutMs: number): Promise<readonly AvailabilityEnvelope[]>;
  close(): Promise<void>;
}

/**
 * Judges the bearer token of a `/track` call when local authentication is disabled: who may publish
 * (Monitoring Metrics Publisher) is the sandbox's to decide, from the emulated tenant.
 */
export type BearerVerdict = { ok: true } | { ok: false; status: 401 | 403; message: string };

export interface IngestionEmulatorOptions {
  tls: { certPem: string; keyPem: string };
  /**
   * Local authentication disabled: every `/track` call must carry an Entra bearer token that this
   * accepts; without one, the batch is refused whole (401), as Application Insights does when an
   * Azure Policy turned local authentication off (learn.microsoft.com azure-monitor/app/azure-ad-authentication;
   * the exact status is not documented there: 401 without a token, 403 without the role, here).
   */
  verifyBearer?: (token: string) => Promise<BearerVerdict>;
  /** Clock for `receivedAt` stamps (ms). */
  now?: () => number;
}

const TRACK_PATHS = new Set(["/v2/track", "/v2.1/track"]);
/** Real ingestion refuses batches above a few MB; a bound keeps a runaway sender from exhausting memory. */
const MAX_BODY_BYTES = 16 * 1024 * 1024;
/**
 * What real ingestion answers for an unknown key (the exporter matches this text to stop statsbeat;
 * see `@azure/monitor-opentelemetry-exporter` BaseSender). The emulator refuses such items per index
 * rather than accepting them, so a misrouted connection string is visible in tests.
 */
const INVALID_IKEY_MESSAGE = "Invalid instrumentation key";

export async function startIngestionEmulator(options: IngestionEmulatorOptions): Promise<IngestionEmulator> {
  const now = options.now ?? Date.now;
  const knownKeys = new Set([SANDBOX_INSTRUMENTATION_KEY]);
  const accepted: Envelope[] = [];
  const availability: AvailabilityEnvelope[] = [];
  const rejected: RejectedItem[] = [];
  const requests: TrackRequestRecord[] = [];
  const other: OtherRequestRecord[] = [];
  let fault: IngestionFault | undefined;
  const waiters = new Set<() => void>();

  const authenticate = async (authorization: string | undefined): Promise<BearerVerdict> => {
    if (!options.verifyBearer) return { ok: true };
    const token = /^Bearer\s+(\S+)$/i.exec(authorization ?? "")?.[1];
    if (token === undefined)
      return {
        ok: false,
        status: 401,
        message:
          "Local authentication is disabled for this resource: send an Entra ID bearer token (APPLICATIONINSIGHTS_AUTHENTICATION_STRING)",
      };
    return options.verifyBearer(token);
  };

  const server: Server = createServer({ cert: options.tls.certPem, key: options.tls.keyPem }, (req, res) => {
    readBody(req)
      .then(async (body) => {
        const path = normalisePath(req.url ?? "/");
        if (!TRACK_PATHS.has(path)) {
          other.push({ method: req.method ?? "", path, bytes: body?.length ?? 0, receivedAt: now() });
          answerOther(res, path);
          return;
        }
        if (req.method !== "POST") return sendJson(res, 405, { error: "POST only" });
        if (body === undefined) return sendJson(res, 413, trackFailure(0, 413, "payload too large"));
        const verdict = await authenticate(req.headers.authorization);
        if (!verdict.ok) {
          requests.push({
            path,
            status: verdict.status,
            itemsReceived: 0,
            itemsAccepted: 0,
            faulted: false,
            receivedAt: now(),
          });
          return sendJson(res, verdict.status, trackFailure(0, verdict.status, verdict.message));
        }
        handleTrack(path, body, req.headers["content-encoding"], res);
      })
      .catch(() => {
        if (!res.headersSent) sendJson(res, 400, trackFailure(0, 400, "could not read the request body"));
      });
  });

  function handleTrack(path: string, body: Buffer, contentEncoding: string | undefined, res: ServerResponse): void {
    const receivedAt = now();
    const decoded = decodeTrackBody(body, contentEncoding);
    if (!decoded.ok) {
      requests.push({ path, status: 400, itemsReceived: 0, itemsAccepted: 0, faulted: false, receivedAt });
      return sendJson(res, 400, trackFailure(0, 400, decoded.message));
    }
    const items = decoded.items;

    if (fault !== undefined && "status" in fault && fault.times > 0) {
      const { status, retryAfterSeconds } = fault;
      fault = fault.times > 1 ? { ...fault, times: fault.times - 1 } : undefined;
      requests.push({ path, status, itemsReceived: items.length, itemsAccepted: 0, faulted: true, receivedAt });
      const headers: Record<string, string> =
        retryAfterSeconds === undefined ? {} : { "Retry-After": String(retryAfterSeconds) };
      const answer: TrackResponse = {
        itemsReceived: items.length,
        itemsAccepted: 0,
        errors: items.map((_, index) => ({ index, statusCode: status, message: "Fault injected by the sandbox" })),
      };
      return sendJson(res, status, answer, headers);
    }

    const rejectEvery = fault !== undefined && "partial" in fault ? fault.partial.rejectEvery : 0;
    const errors: TrackError[] = [];
    let retriableErrors = 0;
    items.forEach((item, index) => {
      const refuse = (statusCode: number, message: string): void => {
        errors.push({ index, statusCode, message });
        rejected.push({ index, statusCode, message, item: item === INVALID_LINE ? undefined : item, receivedAt });
      };
      if (item === INVALID_LINE) return refuse(400, "line is not valid JSON");
      const check = checkEnvelope(item);
      if (!check.ok) return refuse(400, check.message);
      if (!knownKeys.has(check.envelope.iKey.toLowerCase())) return refuse(400, INVALID_IKEY_MESSAGE);
      if (rejectEvery > 0 && (index + 1) % rejectEvery === 0) {
        retriableErrors++;
        return refuse(500, "Partial fault injected by the sandbox");
      }
      accepted.push(check.envelope);
      if (check.availability) availability.push(check.envelope as AvailabilityEnvelope);
    });

    const itemsAccepted = items.length - errors.length;
    // 200 all accepted, 206 some (or some refused only transiently), 400 none valid (docs/REFERENCE.md §4).
    const status = errors.length === 0 ? 200 : itemsAccepted > 0 || retriableErrors > 0 ? 206 : 400;
    requests.push({
      path,
      status,
      itemsReceived: items.length,
      itemsAccepted,
      faulted: retriableErrors > 0,
      receivedAt,
    });
    sendJson(res, status, { itemsReceived: items.length, itemsAccepted, errors } satisfies TrackResponse);
    for (const wake of waiters) wake();
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const origin = `https://127.0.0.1:${port}`;

  return {
    origin,
    instrumentationKey: SANDBOX_INSTRUMENTATION_KEY,
    connectionString(instrumentationKey = SANDBOX_INSTRUMENTATION_KEY) {
      knownKeys.add(instrumentationKey.toLowerCase());
      return `InstrumentationKey=${instrumentationKey};IngestionEndpoint=${origin}/;LiveEndpoint=${origin}/`;
    },
    accepted: () => [...accepted],
    availability: () => [...availability],
    rejected: () => [...rejected],
    requests: () => [...requests],
    other: () => [...other],
    setFault(next) {
      if (
        next !== undefined &&
        "partial" in next &&
        !(Number.isInteger(next.partial.rejectEvery) && next.partial.rejectEvery >= 1)
      ) {
        throw new TypeError("setFault: partial.rejectEvery must be an integer >= 1");
      }
      if (next !== undefined && "status" in next && !(Number.isInteger(next.times) && next.times >= 1)) {
        throw new TypeError("setFault: times must be an integer >= 1");
      }
      fault = next;
    },
    waitForAvailability(count, timeoutMs) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          if (availability.length < count) return;
          cleanup();
          resolve([...availability]);
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new SandboxWaitTimeoutError("availability", count, availability.length, timeoutMs));
        }, timeoutMs);
        const cleanup = (): void => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    close() {
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

/** The exporter joins `IngestionEndpoint` and `/v2.1/track`; tolerate a doubled slash and a query. */
function normalisePath(url: string): string {
  const path = url.split("?")[0] ?? "/";
  return path.replace(/\/{2,}/g, "/");
}

/** Resolves with the body, or `undefined` when it exceeds MAX_BODY_BYTES. */
function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) tooLarge = true;
      else chunks.push(chunk);
    });
    req.on("end", () => resolve(tooLarge ? undefined : Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

/**
 * Live metrics (QuickPulse) pings are told nobody is watching, so a client pointed at the sandbox
 * stays idle; everything else gets an empty 200. Either way the request is recorded in `other()`.
 */
function answerOther(res: ServerResponse, path: string): void {
  if (path.toLowerCase().includes("quickpulse")) {
    res.setHeader("x-ms-qps-subscribed", "false");
  }
  sendJson(res, 200, {});
}

function trackFailure(itemsReceived: number, statusCode: number, message: string): TrackResponse {
  return { itemsReceived, itemsAccepted: 0, errors: [{ index: 0, statusCode, message }] };
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "Content-Type": "application/json; charset=utf-8",
    "Content-Length": Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}
