import { decodeJwt, decodeProtectedHeader } from "jose";
import { escapeRemoteText } from "../http/remote-text.js";
import type { TokenSummary } from "../results/types.js";

/**
 * What a token says about itself, decoded WITHOUT verification (the gateway verifies; we report).
 * Only these fields leave this function: never the token, never other claims.
 * Returns undefined when the string is not a decodable JWT.
 */
export function summarizeToken(token: string): TokenSummary | undefined {
  try {
    // Claims are the issuer's text (a proxy's, or a token pasted from elsewhere for `diagnose`): shown
    // in the table, JUnit and App Insights, so their control characters are escaped here, where they enter.
    const claims = escapedStrings(decodeJwt(token));
    const header = escapedStrings(decodeProtectedHeader(token));
    const summary: TokenSummary = {};
    if (typeof claims.aud === "string" || Array.isArray(claims.aud)) summary.aud = claims.aud;
    if (typeof claims.iss === "string") summary.iss = claims.iss;
    if (typeof claims.ver === "string") summary.ver = claims.ver;
    // v2 tokens name the caller in azp, v1 tokens in appid (docs/REFERENCE.md §1).
    const client =
      typeof claims.azp === "string" ? claims.azp : typeof claims.appid === "string" ? claims.appid : undefined;
    if (client) summary.client = client;
    if (Array.isArray(claims.roles)) summary.roles = claims.roles.filter((r): r is string => typeof r === "string");
    if (typeof claims.scp === "string") summary.scp = claims.scp;
    if (typeof claims.exp === "number") summary.exp = claims.exp;
    if (typeof header.kid === "string") summary.kid = header.kid;
    if (typeof header.alg === "string") summary.alg = header.alg;
    if ("nonce" in header) summary.firstParty = true;
    return summary;
  } catch {
    return undefined;
  }
}

/** `record` with its string values, and the strings of its arrays, shown escaped (escapeRemoteText). */
export function escapedStrings<T extends object>(record: T): T {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(record)) {
    out[name] =
      typeof value === "string"
        ? escapeRemoteText(value)
        : Array.isArray(value)
          ? value.map((v: unknown) => (typeof v === "string" ? escapeRemoteText(v) : v))
          : value;
  }
  return out as T;
}

/** `exp` in ms, or undefined when the token has none or cannot be decoded. */
export function expiresAtMs(token: string): number | undefined {
  try {
    const { exp } = decodeJwt(token);
    return typeof exp === "number" ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}
