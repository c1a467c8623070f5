import { debugFailure, rememberSecretValues } from "../core/debug.js";
import { isProductError, type ErrorCode } from "../core/errors.js";
import { SECRET_SETTINGS } from "../core/settings/env-schema.js";
import { COMMANDS } from "./commands/index.js";
import { productVersion } from "../core/version.js";
import { commandHelp, exitCodesHelp } from "./help.js";
import { EXIT_NOT_OK, EXIT_OK, EXIT_OUTPUT_FILE, EXIT_USAGE, type CliIo } from "./io.js";

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(9)}${c.summary}`);
  return `usage: apim-smoke <command> [options]\n\ncommands:\n${lines.join("\n")}\n\n${exitCodesHelp()}\n\n\`apim-smoke <command> --help\` shows a command's options and their defaults; \`apim-smoke --version\` the version.\n`;
}

/**
 * The exit code of a command that failed with a product error, and whether its line shows the code:
 * what the user typed or configured (arguments, settings, the APIOps folder, the git ref) is named
 * by the message alone and exits 2; a report file that cannot be written exits 5; every other
 * failure exits 1 with its code. One case per code, so a new code must be decided here to compile.
 */
export function exitFor(code: ErrorCode): { exit: number; showCode: boolean } {
  switch (code) {
    case "APIM_SMOKE_USAGE":
    case "APIM_SMOKE_SETTINGS":
    case "APIM_SMOKE_APIOPS_FOLDER":
    case "APIM_SMOKE_CHANGED_SINCE":
      return { exit: EXIT_USAGE, showCode: false };
    case "APIM_SMOKE_OUTPUT_FILE":
      return { exit: EXIT_OUTPUT_FILE, showCode: true };
    case "APIM_SMOKE_TENANT_MODEL":
    case "APIM_SMOKE_TOKEN_ACQUISITION":
    case "APIM_SMOKE_UNSAFE_REQUEST":
    case "APIM_SMOKE_TRANSPORT":
    case "APIM_SMOKE_RUN_BUDGET_EXCEEDED":
    case "APIM_SMOKE_SANDBOX_WAIT_TIMEOUT":
    case "APIM_SMOKE_SANDBOX_BODY_TOO_LARGE":
    case "APIM_SMOKE_STATE_STORE":
    case "APIM_SMOKE_POLICY":
    case "APIM_SMOKE_OPENID_CONFIG":
      return { exit: EXIT_NOT_OK, showCode: true };
  }
}

/**
 * Dispatches to a command and maps failures to exit codes (exitFor). A product error's message is
 * printed when the error says it is safe (`safeMessage`), else only its code; anything else prints
 * only its kind, since a foreign message could carry request data. No stack traces, except on the
 * opt-in debug channel (NODE_DEBUG=apim-smoke, src/core/debug.ts), redacted.
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    (name === undefined ? io.stderr : io.stdout).write(usage());
    return name === undefined ? EXIT_USAGE : EXIT_OK;
  }
  if (name === "--version" || name === "-v" || name === "version") {
    io.stdout.write(`apim-smoke ${productVersion()}\n`);
    return EXIT_OK;
  }
  const command = COMMANDS[name];
  if (!command) {
    const meant = meantCommand(name);
    io.stderr.write(
      `apim-smoke: the first argument is not a command (it is not repeated here, in case it was a pasted secret)${meant ? `; did you mean: apim-smoke ${meant}?` : ""}\n${usage()}`,
    );
    return EXIT_USAGE;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    io.stdout.write(commandHelp(name, command.usage, command.summary));
    return EXIT_OK;
  }
  // The debug channel's redaction knows the secret settings' values before anything is parsed
  // (IDENTITY_HEADER is the managed-identity endpoint's secret, read by @azure/identity).
  rememberSecretValues([...SECRET_SETTINGS, "IDENTITY_HEADER"].map((setting) => io.env[setting]));
  try {
    return await command.run(rest, io);
  } catch (error) {
    debugFailure(`apim-smoke ${name} failed`, error);
    if (isProductError(error)) {
      const { exit, showCode } = exitFor(error.code);
      const text = !error.safeMessage ? error.code : showCode ? `${error.code}: ${error.message}` : error.message;
      io.stderr.write(`apim-smoke ${name}: ${text}\n`);
      return exit;
    }
    io.stderr.write(`apim-smoke ${name}: unexpected ${error instanceof Error ? error.name : "error"}\n`);
    return EXIT_NOT_OK;
  }
}

/**
 * The command a mistyped first argument stands for, if one plainly does: `policy-check` or
 * `policycheck` for `policy check`, `--run` or `Run` for `run`. Only a command's own spelling is
 * said back, never the argument (which may have been a pasted secret).
 */
function meantCommand(arg: string): string | undefined {
  const words = arg
    .toLowerCase()
    .replace(/^-+/, "")
    .split(/[-_\s]+/)
    .filter(Boolean);
  const joined = words.join("");
  if (joined === "policycheck") return "policy check";
  return Object.keys(COMMANDS).find((name) => joined === name || (words.length > 1 && words[0] === name));
}
