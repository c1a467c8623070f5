import { PolicyLibraryError } from "../policy/errors.js";
import { ProbeError } from "../errors/probe-error.js";
import { displayPath } from "./settings/looks-like-secret.js";

// The base, the policy library's errors and the errors of apiops/ and the sandbox, here too so
// callers import every error type from one module. Foreign errors (MSAL, undici, jose, zod) are
// translated at the edge and kept as `cause`. Every code is described in docs/ERRORS.md.
export { ProbeError, type ErrorCode } from "../errors/probe-error.js";
export { OpenIdConfigError, PolicyError, PolicyLibraryError } from "../policy/errors.js";

/** An error this product raised (its own or the policy library's), whose `code` is in the closed union. */
export function isProductError(error: unknown): error is ProbeError | PolicyLibraryError {
  return error instanceof ProbeError || error instanceof PolicyLibraryError;
}

/** A setting (environment variable, app setting, targets file entry) is missing or invalid. */
export class SettingsError extends ProbeError {
  readonly code = "APIM_SMOKE_SETTINGS";
  /** Each problem names the setting; the message joins them. */
  readonly problems: readonly { setting: string; problem: string }[];

  constructor(problems: readonly { setting: string; problem: string }[], options?: { cause?: unknown }) {
    super(
      problems.length === 1
        ? `Invalid setting ${problems[0]!.setting}: ${problems[0]!.problem}`
        : `Invalid settings:\n${problems.map((p) => `  - ${p.setting}: ${p.problem}`).join("\n")}`,
      options,
    );
    this.problems = problems;
  }
}

/** A command-line argument is missing, unknown or malformed. */
export class UsageError extends ProbeError {
  readonly code = "APIM_SMOKE_USAGE";
}

/** A sandbox tenant model or scenario is invalid. */
export class TenantModelError extends ProbeError {
  readonly code = "APIM_SMOKE_TENANT_MODEL";
  constructor(
    /** Path into the model, e.g. `apps[2].appRoles[0].value`. */
    readonly path: string,
    problem: string,
  ) {
    super(`Tenant model ${path}: ${problem}`);
  }
}

/** The OAuth-error slot of a token answer whose access token is not a JWT (our code, not Entra's). */
export const TOKEN_NOT_JWT = "access_token_not_jwt";

/** Entra ID refused a token request; `aadsts` keeps the first AADSTS code when the server sent one. */
export class TokenAcquisitionError extends ProbeError {
  readonly code = "APIM_SMOKE_TOKEN_ACQUISITION";
  constructor(
    message: string,
    readonly details: {
      /** OAuth error, e.g. `invalid_client`. */
      oauthError?: string;
      /** First AADSTS code, e.g. 7000215. */
      aadsts?: number;
      /** HTTP status of the token endpoint's answer, when there was one. */
      status?: number;
      /** Seconds the server asked us to wait (429). */
      retryAfterSeconds?: number;
      /** The request was sent a second time (after an Entra 5xx). */
      retried?: true;
    },
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A request was refused before it left the process (non-https origin, origin not configured). */
export class UnsafeRequestError extends ProbeError {
  readonly code = "APIM_SMOKE_UNSAFE_REQUEST";
}

/** A request did not complete: timeout, DNS, TLS, connection reset. */
export class TransportError extends ProbeError {
  readonly code = "APIM_SMOKE_TRANSPORT";
  constructor(
    message: string,
    readonly kind: "timeout" | "dns" | "tls" | "connection",
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** A timeout that is the run's own budget running out (its abort reason is in the causes), not the endpoint's slowness. */
  get runBudget(): boolean {
    for (let e: unknown = this.cause, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
      if ((e as { code?: unknown }).code === "APIM_SMOKE_RUN_BUDGET_EXCEEDED") return true;
    }
    return false;
  }
}

/** A sandbox wait (e.g. for telemetry to reach the emulated ingestion endpoint) ran out of time. */
export class SandboxWaitTimeoutError extends ProbeError {
  readonly code = "APIM_SMOKE_SANDBOX_WAIT_TIMEOUT";
  constructor(
    /** What was awaited, e.g. `availability`. */
    readonly awaited: string,
    readonly expected: number,
    readonly received: number,
    readonly timeoutMs: number,
  ) {
    super(`Timed out after ${timeoutMs} ms waiting for ${expected} ${awaited} item(s); received ${received}`);
  }
}

/** A report file (`--junit FILE`) cannot be written; the message names the option, the file and the OS reason. */
export class OutputFileError extends ProbeError {
  readonly code = "APIM_SMOKE_OUTPUT_FILE";
  constructor(
    readonly option: string,
    readonly path: string,
    options?: { cause?: unknown },
  ) {
    const reason = (options?.cause as { code?: unknown } | undefined)?.code;
    const said =
      typeof reason === "string" ? (OS_REASONS[reason] ? `${reason}: ${OS_REASONS[reason]}` : reason) : undefined;
    super(`${option}: cannot write ${displayPath(path)}${said ? ` (${said})` : ""}`, options);
  }
}

/** The operating system's reasons a report file cannot be written, said for people. */
const OS_REASONS: Readonly<Record<string, string>> = {
  EISDIR: "it is a folder; name a file, e.g. reports/probe-results.xml",
  ENOTDIR: "part of the path is a file, not a folder",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EROFS: "read-only file system",
  ENOSPC: "no space left on the device",
};

/**
 * The probe's state store (the state dir, or the Function app's storage account) cannot be read or
 * written. `store` names it as the user configured it (a folder, or a storage account and
 * container), never a connection string or key.
 */
export class StateStoreError extends ProbeError {
  readonly code = "APIM_SMOKE_STATE_STORE";
  constructor(
    readonly store: string,
    problem: string,
    options?: { cause?: unknown },
  ) {
    super(`Probe state in ${store}: ${problem}`, options);
  }
}
