import type { JwtRequest, ValidateJwtPolicy } from "./types.js";

export type Extraction = { ok: true; token: string } | { ok: false; reason: "TokenNotPresent" | "JwtInvalid"; detail: string };

/**
 * Finds the token where the policy says it is. The scheme rules follow [A] validate-jwt-policy.md:
 * `require-scheme` is only enforced on the Authorization header ("When using a custom header, the
 * configured required scheme will be ignored"), and an Authorization header without `require-scheme`
 * still accepts "Bearer <token>" (FACTS.md §3).
 */
export function extractToken(policy: ValidateJwtPolicy, request: JwtRequest): Extraction {
  const source = policy.tokenSource;
  if (source.kind === "value") return { ok: true, token: source.value.trim() };
  if (source.kind === "query") {
    const value = request.url.searchParams.get(source.name)?.trim();
    if (!value) return { ok: false, reason: "TokenNotPresent", detail: `query parameter ${source.name} missing` };
    return { ok: true, token: value };
  }
  const value = request.headers.get(source.name)?.trim();
  if (!value) return { ok: false, reason: "TokenNotPresent", detail: `header ${source.name} missing` };
  if (source.name.toLowerCase() !== "authorization") return { ok: true, token: value };

  const parts = value.split(/\s+/);
  const scheme = parts.length === 2 ? parts[0]! : undefined;
  if (policy.requireScheme !== undefined) {
    // A wrong scheme means the token the policy asks for is not there. APIM's reason for it is not
    // documented (unconfirmed); TokenNotPresent is the closest of the documented reasons.
    if (scheme === undefined || scheme.toLowerCase() !== policy.requireScheme.toLowerCase()) {
      return {
        ok: false,
        reason: "TokenNotPresent",
        detail: `scheme expected ${policy.requireScheme} received ${describeScheme(scheme)}`,
      };
    }
    return { ok: true, token: parts[1]! };
  }
  if (parts.length === 1) return { ok: true, token: parts[0]! };
  if (parts.length === 2) return { ok: true, token: parts[1]! };
  return { ok: false, reason: "JwtInvalid", detail: `header ${source.name} is not "<scheme> <token>"` };
}

/** Names the received scheme without ever echoing something that could be a credential. */
function describeScheme(scheme: string | undefined): string {
  if (scheme === undefined) return "none";
  return /^[A-Za-z][A-Za-z-]{0,19}$/.test(scheme) ? scheme : "an unrecognised scheme";
}
