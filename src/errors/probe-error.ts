import type { PolicyErrorCode } from "../policy/errors.js";

/**
 * Every code a product error can carry: a closed union, so a `switch (error.code)` narrows and a
 * new code fails to compile until every switch (the CLI's exit codes) decides about it. Prefixed
 * `APIM_SMOKE_` so that they are never mistaken for Node's or undici's own `ERR_*` / `UND_ERR_*`
 * codes, which may sit in the same error's `cause` chain. Each is described in docs/ERRORS.md.
 */
export type ProbeErrorCode =
  | "APIM_SMOKE_SETTINGS"
  | "APIM_SMOKE_USAGE"
  | "APIM_SMOKE_APIOPS_FOLDER"
  | "APIM_SMOKE_CHANGED_SINCE"
  | "APIM_SMOKE_TENANT_MODEL"
  | "APIM_SMOKE_TOKEN_ACQUISITION"
  | "APIM_SMOKE_UNSAFE_REQUEST"
  | "APIM_SMOKE_TRANSPORT"
  | "APIM_SMOKE_RUN_BUDGET_EXCEEDED"
  | "APIM_SMOKE_SANDBOX_WAIT_TIMEOUT"
  | "APIM_SMOKE_SANDBOX_BODY_TOO_LARGE"
  | "APIM_SMOKE_OUTPUT_FILE"
  | "APIM_SMOKE_STATE_STORE";

/** The product's codes and the policy library's (whose errors keep their own base class). */
export type ErrorCode = ProbeErrorCode | PolicyErrorCode;

/**
 * One base class for every failure the product reports, one subclass per failure kind, each with a
 * stable `code`. Callers branch on `code`, never on message text. Messages name the setting or
 * input at fault and never carry a secret, a subscription key or a whole token.
 *
 * It lives outside `core/` so that `apiops/` and the sandbox can extend it without importing the
 * engine; `core/errors.ts` re-exports it with the subclasses.
 */
export abstract class ProbeError extends Error {
  abstract readonly code: ProbeErrorCode;
  /**
   * The message may be printed and logged as it is: it was written by this product from values it
   * checked, never copied from a foreign error or a server's answer. A subclass whose message could
   * carry foreign text sets it to false, and the CLI then prints only the code.
   */
  readonly safeMessage: boolean = true;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}
