import { parseArgs, type ParseArgsConfig } from "node:util";
import { UsageError } from "../core/errors.js";
import { isProbeName, PROBE_NAMES, type ProbeName } from "../core/probes/names.js";

/** node:util parseArgs, strict, with its errors turned into UsageError (exit 2). */
export function parseCommandArgs<O extends NonNullable<ParseArgsConfig["options"]>>(args: readonly string[], options: O) {
  try {
    return parseArgs({ args: [...args], options, strict: true, allowPositionals: false }).values;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === "string" && code.startsWith("ERR_PARSE_ARGS")) {
      throw new UsageError((error as Error).message, { cause: error });
    }
    throw error;
  }
}

export function toProbeNames(values: readonly string[] | undefined): ProbeName[] | undefined {
  if (!values || values.length === 0) return undefined;
  for (const v of values) {
    if (!isProbeName(v)) throw new UsageError(`--probe ${JSON.stringify(v)} is not a probe; probes: ${PROBE_NAMES.join(", ")}`);
  }
  return values as ProbeName[];
}

export function toFormat(value: string | undefined): "table" | "json" {
  if (value === undefined || value === "table" || value === "json") return value ?? "table";
  throw new UsageError(`--format must be table or json`);
}
