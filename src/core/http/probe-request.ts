import { request, type Dispatcher } from "undici";
import { answeredByFromBody, type AnsweredBy } from "../diagnosis/observation.js";
import { assertAllowedUrl } from "./origin-guard.js";
import { toTransportError } from "./transport-error.js";

export interface ProbeRequest {
  url: string;
  method: string;
  headers: Record<string, string>;
  /** Deadline of this request, from sending to the end of the body. */
  timeoutMs: number;
  /** Aborts the request early (the run budget). */
  signal?: AbortSignal;
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
}

export interface HttpDeps {
  dispatcher: Dispatcher;
  /** Origins requests may go to (`https://host:port`). */
  allowedOrigins: ReadonlySet<string>;
  now: () => number;
}

/** Error bodies are small; anything past this is not read (a hung or huge body cannot stall a run). */
const MAX_BODY_BYTES = 64 * 1024;
const MAX_MESSAGE_CHARS = 300;

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
  const started = deps.now();
  try {
    const res = await request(url, {
      dispatcher: deps.dispatcher,
      method: req.method,
      headers: req.headers,
      signal: AbortSignal.any(signals),
      headersTimeout: req.timeoutMs,
      bodyTimeout: req.timeoutMs,
    });
    const body = await readLimited(res.body);
    const header = (name: string): string | undefined => {
      const v = res.headers[name];
      return Array.isArray(v) ? v[0] : v;
    };
    const requestId = header("apim-request-id") ?? header("x-ms-request-id");
    const wwwAuthenticate = header("www-authenticate");
    const apimMessage = res.statusCode >= 300 ? extractErrorMessage(body) : undefined;
    // Tells a backend's 5xx from the gateway's own (backend-error vs gateway-error).
    const answeredBy = res.statusCode >= 400 ? answeredByFromBody(res.statusCode, body) : undefined;
    return {
      status: res.statusCode,
      durationMs: deps.now() - started,
      ...(apimMessage ? { apimMessage } : {}),
      ...(requestId ? { requestId } : {}),
      ...(wwwAuthenticate ? { wwwAuthenticate } : {}),
      ...(answeredBy ? { answeredBy } : {}),
    };
  } catch (error) {
    throw toTransportError(error, url.origin, req.timeoutMs) ?? error;
  }
}

async function readLimited(body: Dispatcher.ResponseData["body"]): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    chunks.push(chunk);
    size += chunk.length;
    if (size >= MAX_BODY_BYTES) {
      body.destroy();
      break;
    }
  }
  return Buffer.concat(chunks).subarray(0, MAX_BODY_BYTES).toString("utf8");
}

/**
 * APIM error bodies are `{"statusCode":401,"message":"..."}` (FACTS.md section 3); some backends use
 * `{"error":{"message":"..."}}`. One line, bounded length.
 */
export function extractErrorMessage(body: string): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (!parsed || typeof parsed !== "object") return undefined;
  const record = parsed as { message?: unknown; error?: { message?: unknown } };
  const message = typeof record.message === "string" ? record.message : typeof record.error?.message === "string" ? record.error.message : undefined;
  if (!message) return undefined;
  const line = message.replace(/\s+/g, " ").trim();
  return line.length > MAX_MESSAGE_CHARS ? `${line.slice(0, MAX_MESSAGE_CHARS - 1)}…` : line;
}
