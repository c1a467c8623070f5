import type { AccessRestriction } from "../../policy/index.js";

export interface Refusal {
  status: number;
  message: string;
  reason: string;
  headers?: Record<string, string>;
}

/**
 * The access restrictions the sandbox gateway enforces, with APIM's answers ([A] the policies'
 * pages, docs/REFERENCE.md §7): ip-filter refuses with 403 "Caller IP address {ip} is not allowed. Access
 * denied."; rate-limit, rate-limit-by-key and quota with 429 and Retry-After; check-header with its
 * failed-check code and message. Counters are per API and restriction, in memory.
 */
export class AccessLimits {
  readonly #windows = new Map<string, { startMs: number; count: number }>();
  readonly #now: () => number;

  constructor(now: () => number) {
    this.#now = now;
  }

  refusal(
    api: string,
    r: AccessRestriction,
    callerIp: string,
    headers: { get(name: string): string | null },
  ): Refusal | undefined {
    switch (r.name) {
      case "ip-filter":
        return ipFilter(r, normaliseIp(callerIp));
      case "check-header":
        return checkHeader(r, headers);
      default:
        return this.#rateLimit(api, r);
    }
  }

  #rateLimit(api: string, r: AccessRestriction): Refusal | undefined {
    const calls = Number(r.attributes.calls ?? r.attributes["calls"]);
    const periodSeconds = Number(r.attributes["renewal-period"]);
    if (!Number.isFinite(calls) || !Number.isFinite(periodSeconds) || periodSeconds <= 0) return undefined;
    const key = `${api}\u0000${r.name}\u0000${r.line}`;
    const now = this.#now();
    const window = this.#windows.get(key);
    const current = window && now - window.startMs < periodSeconds * 1000 ? window : { startMs: now, count: 0 };
    current.count++;
    this.#windows.set(key, current);
    if (current.count <= calls) return undefined;
    const retryAfter = Math.max(1, Math.ceil((current.startMs + periodSeconds * 1000 - now) / 1000));
    const message = r.name.startsWith("quota")
      ? `Out of call volume quota. Quota will be replenished in ${new Date(retryAfter * 1000).toISOString().slice(11, 19)}.`
      : `Rate limit is exceeded. Try again in ${retryAfter} seconds.`;
    return {
      status: 429,
      message,
      reason: r.name === "quota" || r.name === "quota-by-key" ? "QuotaExceeded" : "RateLimitExceeded",
      headers: { "retry-after": String(retryAfter) },
    };
  }
}

function ipFilter(r: AccessRestriction, ip: string): Refusal | undefined {
  const listed = (r.addresses ?? []).some((entry) => matches(entry, ip));
  const allowed = (r.attributes.action ?? "allow") === "allow" ? listed : !listed;
  return allowed
    ? undefined
    : { status: 403, message: `Caller IP address ${ip} is not allowed. Access denied.`, reason: "CallerIpNotAllowed" };
}

function checkHeader(r: AccessRestriction, headers: { get(name: string): string | null }): Refusal | undefined {
  const name = r.attributes.name;
  if (!name) return undefined;
  if (headers.get(name) !== null) return undefined;
  const status = Number(r.attributes["failed-check-httpcode"] ?? 401);
  return {
    status: Number.isFinite(status) ? status : 401,
    message: r.attributes["failed-check-error-message"] ?? "Unauthorized",
    reason: "HeaderValueNotAllowed",
  };
}

function normaliseIp(ip: string): string {
  return ip.startsWith("::ffff:") ? ip.slice(7) : ip;
}

/** An address, or a `from-to` range, of IPv4 addresses. */
function matches(entry: string, ip: string): boolean {
  const range = /^([\d.]+)-([\d.]+)$/.exec(entry);
  if (!range) return entry.trim() === ip;
  const n = (a: string) => a.split(".").reduce((acc, part) => acc * 256 + Number(part), 0);
  return n(range[1]!) <= n(ip) && n(ip) <= n(range[2]!);
}
