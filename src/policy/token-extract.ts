import { evaluateSourceExpression } from "./token-expression.js";
import type { JwtRequest, TokenSource, ValidateJwtPolicy } from "./types.js";

export type Extraction =
  | { ok: true; token: string }
  /** `notEvaluable`: the source is an expression only APIM's runtime can evaluate; the detail says which. */
  | { ok: false; reason: "TokenNotPresent" | "JwtInvalid"; detail: string; notEvaluable?: true };

/**
 * Finds the token where the policy says it is. The scheme rules follow [A] validate-jwt-policy.md:
 * `require-scheme` is only enforced on the Authorization header ("When using a custom header, the
 * configured required scheme will be ignored"), and an Authorization header without `require-scheme`
 * still accepts "Bearer <token>" (docs/REFERENCE.md §3).
 */
export function extractToken(policy: ValidateJwtPolicy, request: JwtRequest): Extraction {
  const source = literalSource(policy.tokenSource, request);
  if ("notEvaluable" in source)
    return { ok: false, reason: "JwtInvalid", detail: source.notEvaluable, notEvaluable: true };
  if (source.kind === "value") {
    const token = source.value.trim();
    return token === ""
      ? { ok: false, reason: "TokenNotPresent", detail: "token-value is empty" }
      : { ok: true, token };
  }
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

/** The source with an expression evaluated for this request, or why it cannot be. */
function literalSource(
  source: TokenSource,
  request: JwtRequest,
): Exclude<TokenSource, { kind: "expression" }> | { notEvaluable: string } {
  if (source.kind !== "expression") return source;
  const evaluated = evaluateSourceExpression(source, request);
  if (!evaluated.evaluable) return { notEvaluable: `${evaluated.why}: not evaluable offline` };
  if (source.attribute === "token-value") return { kind: "value", value: evaluated.value ?? "" };
  if (evaluated.value === undefined || evaluated.value.trim() === "")
    return { notEvaluable: `${source.attribute} evaluates to nothing` };
  return source.attribute === "header-name"
    ? { kind: "header", name: evaluated.value.trim() }
    : { kind: "query", name: evaluated.value.trim() };
}

/** Names the received scheme without ever echoing something that could be a credential. */
function describeScheme(scheme: string | undefined): string {
  if (scheme === undefined) return "none";
  return /^[A-Za-z][A-Za-z-]{0,19}$/.test(scheme) ? scheme : "an unrecognised scheme";
}
