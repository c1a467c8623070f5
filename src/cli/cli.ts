import { OutputFileError, PolicyLibraryError, ProbeError, SettingsError, UsageError } from "../core/errors.js";
import { COMMANDS } from "./commands/index.js";
import { ChangedSinceError } from "../apiops/changes.js";
import { ApiopsFolderError } from "../apiops/folder.js";
import { productVersion } from "../core/version.js";
import { commandHelp, exitCodesHelp } from "./help.js";
import { EXIT_NOT_OK, EXIT_OK, EXIT_OUTPUT_FILE, EXIT_USAGE, type CliIo } from "./io.js";

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(9)}${c.summary}`);
  return `usage: apim-smoke <command> [options]\n\ncommands:\n${lines.join("\n")}\n\n${exitCodesHelp()}\n\n\`apim-smoke <command> --help\` shows a command's options and their defaults; \`apim-smoke --version\` the version.\n`;
}

/**
 * Dispatches to a command and maps failures to exit codes: UsageError/SettingsError print their
 * message (which names the argument or setting, never a value) and exit 2; other product errors
 * exit 1 with their code; anything else prints only its kind, since a foreign message could carry
 * request data. No stack traces.
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
    io.stderr.write(`apim-smoke: the first argument is not a command (it is not repeated here, in case it was a pasted secret)\n${usage()}`);
    return EXIT_USAGE;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    io.stdout.write(commandHelp(name, command.usage, command.summary));
    return EXIT_OK;
  }
  try {
    return await command.run(rest, io);
  } catch (error) {
    if (error instanceof UsageError || error instanceof SettingsError || error instanceof ApiopsFolderError || error instanceof ChangedSinceError) {
      io.stderr.write(`apim-smoke ${name}: ${error.message}\n`);
      return EXIT_USAGE;
    }
    if (error instanceof OutputFileError) {
      io.stderr.write(`apim-smoke ${name}: ${error.code}: ${error.message}\n`);
      return EXIT_OUTPUT_FILE;
    }
    if (error instanceof ProbeError || error instanceof PolicyLibraryError) {
      io.stderr.write(`apim-smoke ${name}: ${error.code}: ${error.message}\n`);
      return EXIT_NOT_OK;
    }
    io.stderr.write(`apim-smoke ${name}: unexpected ${error instanceof Error ? error.name : "error"}\n`);
    return EXIT_NOT_OK;
  }
}
