import { request, type Dispatcher } from "undici";
import { answeredByFromBody, errorStatusInBody, type AnsweredBy } from "../diagnosis/observation.js";
import { assertAllowedUrl } from "./origin-guard.js";
import { escapeRemoteText } from "./remote-text.js";
import { toTransportError } from "./transport-error.js";

export interface ProbeRequest {
  url: string;
  method: string;
  headers: Record<string, string>;
  /** Deadline of this request, from sending to the end of the body. */
  timeoutMs: number;
  /** Aborts the request early (the run budget). */
  signal?: AbortSignal;
  /** A body to send (POST/PUT operations). */
  body?: string;
  /** Keep the (bounded) body and the headers of the answer, for assertions. */
  keepAnswer?: boolean;
  /** Request headers besides Authorization whose values are credentials (the API's own key header). */
  credentialHeaders?: readonly string[];
  /**
   * Whether a status alone decides the verdict (a 2xx on a probe that must be refused). For such a
   * status the body is read only for a short grace, and a body that is slow, hangs or is cut off is
   * noted in `bodyProblem` instead of failing the request: the gateway already let the caller in.
   */
  statusDecides?: (status: number) => boolean;
}

export interface ProbeResponse {
  status: number;
  durationMs: number;
  /** APIM's error text (`message` of its JSON error body), for non-2xx answers. */
  apimMessage?: string;
  requestId?: string;
  wwwAuthenticate?: string;
  /** For 4xx/5xx: whether APIM wrote the answer (its `{statusCode,message}` body) or what is behind it. */
  answeredBy?: AnsweredBy;
  /** With `keepAnswer`: the body as read (at most MAX_BODY_BYTES), whether it was cut, and the headers. */
  body?: string;
  bodyTruncated?: boolean;
  headers?: Readonly<Record<string, string>>;
  /** With `statusDecides`: what went wrong with the body after the deciding status arrived. */
  bodyProblem?: string;
  /** A 2xx whose body is APIM's error document: the status it names, and its message (escaped, redacted). */
  errorDocument?: { statusCode: number; message: string };
}

export interface HttpDeps {
  dispatcher: Dispatcher;
  /** Origins requests may go to (`https://host:port`). */
  allowedOrigins: ReadonlySet<string>;
}

/** Error bodies are small; anything past this is not read (a hung or huge body cannot stall a run). */
const MAX_BODY_BYTES = 64 * 1024;
const MAX_MESSAGE_CHARS = 300;
/** How long the body of a deciding answer is read for: enough for a normal body, never a reason to wait. */
export const DECIDED_BODY_GRACE_MS = 1_000;

/**
 * Sends one probe request. Redirects are never followed (undici's `request` does not follow them
 * unless a redirect interceptor is composed in, and we never add one): a 3xx is reported as is and
 * the Authorization header cannot travel to another origin.
 * Throws UnsafeRequestError before sending to a non-https or unconfigured origin, and TransportError
 * when the request does not complete.
 */
export async function sendProbeRequest(req: ProbeRequest, deps: HttpDeps): Promise<ProbeResponse> {
  const url = assertAllowedUrl(req.url, deps.allowedOrigins);
  const signals = [AbortSignal.timeout(req.timeoutMs), ...(req.signal ? [req.signal] : [])];
  const signal = AbortSignal.any(signals);
  // Durations come from the monotonic, sub-millisecond clock: they are what the Availability pane
  // charts, and a wall-clock step (NTP, or an injected test clock) mid-request must not bend them.
  const started = performance.now();
  try {
    const res = await settledByAbort(
      request(url, {
        dispatcher: deps.dispatcher,
        method: req.method,
        headers: req.headers,
        ...(req.body !== undefined ? { body: req.body } : {}),
        signal,
        headersTimeout: req.timeoutMs,
        bodyTimeout: req.timeoutMs,
      }),
      signal,
    );
    // The verdict is taken on the status line: a fail-open gateway whose body then trickles, hangs or
    // resets has still let the caller in, and that must not turn into a timeout that is retried.
    const decided = req.statusDecides?.(res.statusCode) === true;
    let read: { text: string; truncated: boolean; problem?: string };
    if (decided) read = await readDecidedBody(res.body, url.origin);
    else read = await readLimited(res.body);
    const { text: body, truncated } = read;
    const header = (name: string): string | undefined => {
      const v = res.headers[name];
      return Array.isArray(v) ? v[0] : v;
    };
    const rawRequestId = header("apim-request-id") ?? header("x-ms-request-id");
    const requestId = rawRequestId === undefined ? undefined : escapeRemoteText(rawRequestId);
    // Server text is foreign: a backend or a custom policy may quote the request's credentials.
    const secrets = sentSecrets(req.headers, req.credentialHeaders);
    const challenge = header("www-authenticate");
    const wwwAuthenticate = challenge === undefined ? undefined : escapeRemoteText(redactSent(challenge, secrets));
    const apimMessage = res.statusCode >= 300 ? extractErrorMessage(body, secrets) : undefined;
    const errorStatus = res.statusCode >= 200 && res.statusCode < 300 ? errorStatusInBody(body) : undefined;
    const errorDocument =
      errorStatus === undefined
        ? undefined
        : { statusCode: errorStatus, message: extractErrorMessage(body, secrets) ?? "" };
    // Tells a backend's 5xx from the gateway's own (backend-error vs gateway-error).
    const answeredBy = res.statusCode >= 400 ? answeredByFromBody(res.statusCode, body) : undefined;
    return {
      status: res.statusCode,
      durationMs: performance.now() - started,
      ...(apimMessage ? { apimMessage } : {}),
      ...(requestId ? { requestId } : {}),
      ...(wwwAuthenticate ? { wwwAuthenticate } : {}),
      ...(answeredBy ? { answeredBy } : {}),
      // Assertions show header values they compare: the credentials the request sent are redacted there too.
      ...(req.keepAnswer
        ? { body: redactSent(body, secrets), bodyTruncated: truncated, headers: flatHeaders(res.headers, secrets) }
        : {}),
      ...(read.problem ? { bodyProblem: read.problem } : {}),
      ...(errorDocument ? { errorDocument } : {}),
    };
  } catch (error) {
    throw toTransportError(error, url.origin, req.timeoutMs) ?? error;
  }
}

/**
 * `pending`, or the signal's reason as soon as it aborts. undici does not abort a request that waits
 * for its connection (a host that accepts TCP and never completes the TLS handshake): such a request
 * settles only at the connect timeout, and requests queued behind it on the same origin one connect
 * timeout after another. The probe's deadline is its own, whatever the transport does; an answer that
 * still arrives afterwards is discarded.
 */
function settledByAbort(
  pending: Promise<Dispatcher.ResponseData>,
  signal: AbortSignal,
): Promise<Dispatcher.ResponseData> {
  return new Promise((resolve, reject) => {
    let abandoned = false;
    const onAbort = (): void => {
      abandoned = true;
      reject(asError(signal.reason));
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
    pending.then(
      (res) => {
        signal.removeEventListener("abort", onAbort);
        if (abandoned) res.body.destroy();
        else resolve(res);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(asError(error));
      },
    );
  });
}

function asError(reason: unknown): Error {
  return reason instanceof Error ? reason : new Error(String(reason), { cause: reason });
}

async function readLimited(body: Dispatcher.ResponseData["body"]): Promise<{ text: string; truncated: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  let truncated = false;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    chunks.push(chunk);
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      truncated = true;
      body.destroy();
      break;
    }
  }
  return { text: Buffer.concat(chunks).subarray(0, MAX_BODY_BYTES).toString("utf8"), truncated };
}

/**
 * The body of an answer whose status already decided the verdict: read for at most
 * DECIDED_BODY_GRACE_MS; a body that takes longer, or a connection lost while reading it, is a
 * note, never an error. Whatever is left is discarded.
 */
async function readDecidedBody(
  body: Dispatcher.ResponseData["body"],
  origin: string,
): Promise<{ text: string; truncated: boolean; problem?: string }> {
  let timer: NodeJS.Timeout | undefined;
  const grace = new Promise<"late">((resolve) => {
    timer = setTimeout(() => resolve("late"), DECIDED_BODY_GRACE_MS);
  });
  const reading = readLimited(body).then(
    (read) => ({ read }),
    (error: unknown) => ({ error }),
  );
  try {
    const first = await Promise.race([reading, grace]);
    if (first === "late") {
      body.destroy();
      return {
        text: "",
        truncated: true,
        problem: `the body did not complete within ${DECIDED_BODY_GRACE_MS} ms after the status (not needed for the verdict)`,
      };
    }
    if ("read" in first) return first.read;
    const transport = toTransportError(first.error, origin);
    return {
      text: "",
      truncated: true,
      problem: `the body could not be read after the status (${transport?.kind ?? "unreadable"})`,
    };
  } finally {
    clearTimeout(timer);
  }
}

function flatHeaders(headers: Dispatcher.ResponseData["headers"], secrets: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined)
      out[name.toLowerCase()] = escapeRemoteText(redactSent(Array.isArray(value) ? value.join(", ") : value, secrets));
  }
  return out;
}

/**
 * APIM error bodies are `{"statusCode":401,"message":"..."}` (docs/REFERENCE.md §3); some backends use
 * `{"error":{"message":"..."}}`. One line, bounded length.
 */
export function extractErrorMessage(body: string, sent: readonly string[] = []): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (!parsed || typeof parsed !== "object") return undefined;
  const record = parsed as { message?: unknown; error?: { message?: unknown } };
  const message =
    typeof record.message === "string"
      ? record.message
      : typeof record.error?.message === "string"
        ? record.error.message
        : undefined;
  if (!message) return undefined;
  // Redact before clipping, so a clipped credential cannot slip past as a prefix.
  const line = escapeRemoteText(redactSent(message, sent).replace(/\s+/g, " ").trim());
  return line.length > MAX_MESSAGE_CHARS ? `${line.slice(0, MAX_MESSAGE_CHARS - 1)}…` : line;
}

/** Request headers whose values are credentials: `Authorization` and APIM's subscription key. */
const SECRET_HEADER = /^(authorization|proxy-authorization|ocp-apim-subscription-key)$/i;
/** A compact JWS/JWT anywhere in a text (the forged and alg-none tokens too). */
const JWT_LIKE = /\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*/g;
const REDACTED = "[redacted]";

/** The credential values a request carried (for `<scheme> <token>`, the token). */
function sentSecrets(headers: Readonly<Record<string, string>>, credentialHeaders: readonly string[] = []): string[] {
  const values: string[] = [];
  const credentials = new Set(credentialHeaders.map((n) => n.toLowerCase()));
  for (const [name, value] of Object.entries(headers)) {
    if (!SECRET_HEADER.test(name) && !credentials.has(name.toLowerCase())) continue;
    // `Bearer <token>`: the token is the secret; the scheme stays readable in the server's text.
    const secret = (/^\S+\s+(\S.*)$/.exec(value)?.[1] ?? value).trim();
    if (secret.length >= 8) values.push(secret);
  }
  return values;
}

/**
 * `text` with every credential the request sent, and anything shaped like a JWT, replaced. Case
 * does not matter: a backend that echoes a hex key upper-cased has still echoed the key.
 */
function redactSent(text: string, sent: readonly string[]): string {
  let out = text;
  for (const value of sent) out = out.replace(new RegExp(value.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"), "gi"), REDACTED);
  return out.replace(JWT_LIKE, REDACTED);
}
