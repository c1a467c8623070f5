import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { ChangedSinceError } from "../../src/apiops/changes.js";
import { ApiopsFolderError } from "../../src/apiops/folder.js";
import { exitFor, runCli } from "../../src/cli/cli.js";
import { COMMANDS } from "../../src/cli/commands/index.js";
import type { CliIo } from "../../src/cli/io.js";
import type { PolicyLibraryError } from "../../src/core/errors.js";
import {
  isProductError,
  OpenIdConfigError,
  OutputFileError,
  PolicyError,
  ProbeError,
  SandboxWaitTimeoutError,
  SettingsError,
  StateStoreError,
  TenantModelError,
  TokenAcquisitionError,
  TransportError,
  UnsafeRequestError,
  UsageError,
  type ErrorCode,
} from "../../src/core/errors.js";
import { RunBudgetExceeded } from "../../src/core/http/transport-error.js";
import { BodyTooLargeError } from "../../src/sandbox/entra/http.js";

/** One error of every code: a `Record` over the closed union, so a new code fails to compile here until it is listed. */
const ONE_OF_EACH: Record<ErrorCode, ProbeError | PolicyLibraryError> = {
  APIM_SMOKE_SETTINGS: new SettingsError([{ setting: "PROBE_TENANT_ID", problem: "is missing" }]),
  APIM_SMOKE_USAGE: new UsageError("--target needs a value"),
  APIM_SMOKE_APIOPS_FOLDER: new ApiopsFolderError("apis/orders/apiInformation.json", "is not JSON"),
  APIM_SMOKE_CHANGED_SINCE: new ChangedSinceError("main"),
  APIM_SMOKE_TENANT_MODEL: new TenantModelError("apps[0].appId", "is not a GUID"),
  APIM_SMOKE_TOKEN_ACQUISITION: new TokenAcquisitionError("Entra ID refused the token request (invalid_client)", {
    oauthError: "invalid_client",
  }),
  APIM_SMOKE_UNSAFE_REQUEST: new UnsafeRequestError("http://example.net is not https"),
  APIM_SMOKE_TRANSPORT: new TransportError("https://example.net: timeout", "timeout"),
  APIM_SMOKE_RUN_BUDGET_EXCEEDED: new RunBudgetExceeded(),
  APIM_SMOKE_SANDBOX_WAIT_TIMEOUT: new SandboxWaitTimeoutError("availability", 2, 1, 1000),
  APIM_SMOKE_SANDBOX_BODY_TOO_LARGE: new BodyTooLargeError("request body too large"),
  APIM_SMOKE_OUTPUT_FILE: new OutputFileError("--junit", "/no/such/dir/report.xml"),
  APIM_SMOKE_STATE_STORE: new StateStoreError("state dir ./state", "cannot be written"),
  APIM_SMOKE_POLICY: new PolicyError("validate-jwt/@clock-skew", "is not a number"),
  APIM_SMOKE_OPENID_CONFIG: new OpenIdConfigError(
    "https://login.microsoftonline.com/x/v2.0/.well-known/openid-configuration",
    "status",
    "answered 404",
  ),
};

/** The README's exit code table: 2 what the user typed or configured, 5 a report file, 1 any other failure. */
const EXIT: Partial<Record<ErrorCode, number>> = {
  APIM_SMOKE_SETTINGS: 2,
  APIM_SMOKE_USAGE: 2,
  APIM_SMOKE_APIOPS_FOLDER: 2,
  APIM_SMOKE_CHANGED_SINCE: 2,
  APIM_SMOKE_OUTPUT_FILE: 5,
};

const THROWER = "__throws";
afterEach(() => {
  delete COMMANDS[THROWER];
});

/** Runs the real dispatcher with a command that throws `error`. */
async function failWith(error: Error): Promise<{ code: number; stderr: string }> {
  COMMANDS[THROWER] = {
    summary: "throws",
    usage: "",
    run: () => Promise.reject(error),
  };
  let stderr = "";
  const io: CliIo = {
    env: {},
    cwd: process.cwd(),
    stdout: { write: () => true },
    stderr: { write: (s: string) => (stderr += s) },
  };
  const code = await runCli([THROWER], io);
  return { code, stderr };
}

describe("one closed error taxonomy", () => {
  it.each(Object.entries(ONE_OF_EACH))(
    "%s: a product error with its own code, its exit code from exitFor",
    async (code, error) => {
      expect(isProductError(error)).toBe(true);
      expect(error.code).toBe(code);
      expect(code).toMatch(/^APIM_SMOKE_[A-Z_]+$/);
      const expected = EXIT[code as ErrorCode] ?? 1;
      expect(exitFor(code as ErrorCode).exit).toBe(expected);
      const { code: exit, stderr } = await failWith(error);
      expect(exit).toBe(expected);
      expect(stderr).toBe(
        expected === 2
          ? `apim-smoke ${THROWER}: ${error.message}\n`
          : `apim-smoke ${THROWER}: ${code}: ${error.message}\n`,
      );
    },
  );

  it("every error of the product except the policy library's has the one base", () => {
    for (const error of Object.values(ONE_OF_EACH)) {
      if (error instanceof PolicyError || error instanceof OpenIdConfigError) continue;
      expect(error).toBeInstanceOf(ProbeError);
    }
  });

  it("an error whose message is not marked safe prints only its code", async () => {
    class ForeignTextError extends TransportError {
      override readonly safeMessage = false;
    }
    const { code, stderr } = await failWith(
      new ForeignTextError("https://example.net/?subscription-key=canary-secret", "connection"),
    );
    expect(code).toBe(1);
    expect(stderr).toBe(`apim-smoke ${THROWER}: APIM_SMOKE_TRANSPORT\n`);
  });

  it("a foreign error prints only its kind", async () => {
    const { code, stderr } = await failWith(new TypeError("Bearer eyJhbGciOi.canary.secret"));
    expect(code).toBe(1);
    expect(stderr).toBe(`apim-smoke ${THROWER}: unexpected TypeError\n`);
  });

  it("docs/ERRORS.md describes every code", () => {
    const doc = readFileSync(new URL("../../docs/ERRORS.md", import.meta.url), "utf8");
    for (const code of Object.keys(ONE_OF_EACH)) expect(doc).toContain(`### \`${code}\``);
  });
});
