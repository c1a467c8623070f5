/**
 * The policy library's own errors: it knows nothing of the probe engine (which re-exports these
 * from core/errors.ts so that callers keep one place to import error types from). Each has a
 * stable `code`; callers branch on it, never on message text. Messages name the element or URL at
 * fault and never carry a token. Codes share the product's `APIM_SMOKE_` prefix (docs/ERRORS.md).
 */
export type PolicyErrorCode = "APIM_SMOKE_POLICY" | "APIM_SMOKE_OPENID_CONFIG";

export abstract class PolicyLibraryError extends Error {
  abstract readonly code: PolicyErrorCode;
  /** The message names the element or URL at fault, written by this library: it may be printed. */
  readonly safeMessage: boolean = true;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A document is not a policy document at all, or an element of it cannot be read. */
export class PolicyError extends PolicyLibraryError {
  readonly code = "APIM_SMOKE_POLICY";
  constructor(
    /** The element (or element/@attribute) at fault, e.g. `validate-jwt/@clock-skew`. */
    readonly element: string,
    /** What is wrong with it, without the element (to say it again for another place). */
    readonly problem: string,
    options?: {
      cause?: unknown;
      /** The `{{named value}}` without a value that is the problem, for a caller that can give one. */
      namedValue?: string;
    },
  ) {
    super(`Policy ${element}: ${problem}`, options);
    if (options?.namedValue !== undefined) this.namedValue = options.namedValue;
  }

  readonly namedValue?: string;
}

/** An openid-config document or its JWKS could not be fetched or is not usable. */
export class OpenIdConfigError extends PolicyLibraryError {
  readonly code = "APIM_SMOKE_OPENID_CONFIG";
  constructor(
    /** The openid-config URL as written in the policy (before any sandbox rewrite). */
    readonly url: string,
    readonly kind: "transport" | "status" | "document" | "jwks" | "refused",
    problem: string,
    options?: { cause?: unknown },
  ) {
    super(`openid-config ${url}: ${problem}`, options);
  }
}
