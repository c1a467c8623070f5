import { ProbeError, TransportError } from "../errors.js";

const TIMEOUT_CODES = new Set([
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
  "ETIMEDOUT",
]);
const DNS_CODES = new Set(["ENOTFOUND", "EAI_AGAIN", "EAI_FAIL", "EAI_NONAME"]);
const CONNECTION_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "UND_ERR_SOCKET",
  "UND_ERR_CLOSED",
  "UND_ERR_ABORTED",
]);
const TLS_CODES = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "ERR_TLS_CERT_ALTNAME_INVALID",
]);

/** The reason a run's budget signal is aborted with, so its aborts read as timeouts. */
export class RunBudgetExceeded extends ProbeError {
  readonly code = "APIM_SMOKE_RUN_BUDGET_EXCEEDED";
  constructor() {
    super("run budget exceeded");
  }
}

function kindOf(error: unknown): TransportError["kind"] | undefined {
  for (let e: unknown = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof RunBudgetExceeded) return "timeout";
    const { name, code } = e as { name?: unknown; code?: unknown };
    if (name === "TimeoutError") return "timeout";
    if (typeof code !== "string") continue;
    if (TIMEOUT_CODES.has(code)) return "timeout";
    if (DNS_CODES.has(code)) return "dns";
    if (TLS_CODES.has(code) || code.startsWith("ERR_SSL_") || code.startsWith("ERR_TLS_") || code.startsWith("CERT_"))
      return "tls";
    if (CONNECTION_CODES.has(code)) return "connection";
  }
  return undefined;
}

function codeOf(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof RunBudgetExceeded) return "run budget exceeded";
    const { name, code } = e as { name?: unknown; code?: unknown };
    if (typeof code === "string") return code;
    if (name === "TimeoutError") return "deadline";
  }
  return undefined;
}

/**
 * Translates an undici/Node error into TransportError (kind timeout/dns/tls/connection), keeping it
 * as `cause`; returns undefined for errors that are not about the transport. Names the origin only:
 * a full URL may carry a key in its query.
 */
export function toTransportError(error: unknown, origin: string, timeoutMs?: number): TransportError | undefined {
  if (error instanceof TransportError) return error;
  const kind = kindOf(error) ?? ((error as { name?: unknown })?.name === "AbortError" ? "timeout" : undefined);
  if (!kind) return undefined;
  const code = codeOf(error);
  const what =
    kind === "timeout"
      ? code === "run budget exceeded"
        ? "the run budget was exhausted"
        : `no answer within ${timeoutMs ?? "the deadline of"} ms`
      : kind === "dns"
        ? "the host name did not resolve"
        : kind === "tls"
          ? "the TLS handshake failed"
          : "the connection failed";
  return new TransportError(`${kind}: ${what} calling ${origin}${code ? ` (${code})` : ""}`, kind, { cause: error });
}
