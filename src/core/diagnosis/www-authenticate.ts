import type { CauseCode } from "./catalogue.js";

export interface BearerChallenge {
  /** Lower-cased auth scheme, e.g. `bearer`, `azureapimanagementkey`. */
  scheme: string;
  params: Readonly<Record<string, string>>;
}

/** Parses the first challenge of a `WWW-Authenticate` header (RFC 7235: scheme, then auth-params). */
export function parseChallenge(header: string): BearerChallenge | undefined {
  const match = /^\s*([A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*)(?:\s+(.*))?$/s.exec(header);
  if (!match) return undefined;
  const params: Record<string, string> = {};
  for (const param of (match[2] ?? "").matchAll(/([A-Za-z_][A-Za-z0-9_-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))/g)) {
    params[param[1]!.toLowerCase()] = (param[2] ?? param[3] ?? "").replace(/\\(.)/g, "$1");
  }
  return { scheme: match[1]!.toLowerCase(), params };
}

/**
 * What a backend that validates tokens itself says about a refused Bearer token (RFC 6750 §3;
 * error descriptions as Microsoft.IdentityModel / ASP.NET Core JwtBearer word them: "The audience
 * '...' is invalid", "The issuer '...' is invalid", "The token expired at '...'", "The signature
 * key was not found"). Undefined when the header is not a Bearer challenge or names nothing we know.
 */
export function causeOfBearerChallenge(header: string): { cause: CauseCode; description?: string } | undefined {
  const challenge = parseChallenge(header);
  if (!challenge || challenge.scheme !== "bearer") return undefined;
  const error = challenge.params.error;
  const description = challenge.params.error_description;
  const withDescription = (cause: CauseCode) =>
    description ? { cause, description: bounded(description) } : { cause };
  // RFC 6750 §3.1: a challenge without error means the request carried no token at all.
  if (error === undefined) return withDescription("missing-bearer-scheme");
  if (error === "insufficient_scope") return withDescription("missing-role");
  if (error !== "invalid_token") return undefined;
  const text = description ?? "";
  if (/audience/i.test(text)) return withDescription("audience-mismatch");
  if (/issuer/i.test(text)) return withDescription("issuer-mismatch");
  if (/expired|lifetime/i.test(text)) return withDescription("token-expired");
  if (/signature key was not found|kid/i.test(text)) return withDescription("signing-key-unknown");
  if (/signature/i.test(text)) return withDescription("signature-invalid");
  return undefined;
}

function bounded(text: string): string {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > 200 ? `${line.slice(0, 200)}...` : line;
}
