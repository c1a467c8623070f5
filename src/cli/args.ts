import { parseArgs, type ParseArgsConfig } from "node:util";
import { UsageError } from "../core/errors.js";
import { isProbeName, PROBE_NAMES, type ProbeName } from "../probe-matrix/names.js";

/**
 * node:util parseArgs, strict, with its errors turned into UsageError (exit 2). Node's message for
 * a stray positional quotes it, and a stray positional is typically a value pasted without its
 * option (`apim-smoke diagnose <token>`): that error names the argument by position instead.
 */
export function parseCommandArgs<O extends NonNullable<ParseArgsConfig["options"]>>(
  args: readonly string[],
  options: O,
) {
  try {
    return parseArgs({ args: [...args], options, strict: true, allowPositionals: false }).values;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL") {
      throw new UsageError(
        `${strayArgument(args, options)} is not an option; this command takes options only: ${optionList(options)}`,
      );
    }
    if (typeof code === "string" && code.startsWith("ERR_PARSE_ARGS")) {
      throw new UsageError((error as Error).message, { cause: error });
    }
    throw error;
  }
}

/** "argument N" (1-based) of the first positional, without its value. */
function strayArgument(args: readonly string[], options: NonNullable<ParseArgsConfig["options"]>): string {
  try {
    const { tokens } = parseArgs({ args: [...args], options, strict: false, allowPositionals: true, tokens: true });
    const stray = tokens.find((t) => t.kind === "positional");
    return stray ? `argument ${stray.index + 1}` : "an argument";
  } catch {
    return "an argument";
  }
}

function optionList(options: NonNullable<ParseArgsConfig["options"]>): string {
  return Object.keys(options)
    .map((name) => `--${name}`)
    .join(", ");
}

export function toProbeNames(values: readonly string[] | undefined): ProbeName[] | undefined {
  if (!values || values.length === 0) return undefined;
  // The value is never repeated back: what was typed may be a pasted secret.
  const unknown = values.filter((v) => !isProbeName(v)).length;
  if (unknown > 0)
    throw new UsageError(
      `--probe: ${unknown === 1 ? "one value is" : `${unknown} values are`} not a probe name; probes: ${PROBE_NAMES.join(", ")}`,
    );
  return values as ProbeName[];
}

export function toFormat(value: string | undefined): "table" | "json" {
  if (value === undefined || value === "table" || value === "json") return value ?? "table";
  throw new UsageError(`--format must be table or json`);
}
