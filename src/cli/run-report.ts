import { access, constants, mkdir, writeFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { OutputFileError } from "../core/errors.js";
import type { ProbeEngine } from "../core/probes/engine.js";
import type { ProbeName } from "../core/probes/names.js";
import { renderJson } from "../core/results/json.js";
import { renderJunit } from "../core/results/junit.js";
import { renderProgress, renderTable } from "../core/results/table.js";
import type { RunReport } from "../core/results/types.js";
import type { ProbeConfig } from "../core/settings/types.js";
import type { CliIo } from "./io.js";
import type { Telemetry } from "./telemetry.js";

export interface RunCliOptions {
  targets?: string[];
  probes?: ProbeName[];
  format: "table" | "json";
  junit?: string;
}

/** One run as the CLI shows it: progress on a terminal, table or JSON on stdout, JUnit file, telemetry. */
export async function runAndReport(
  engine: ProbeEngine,
  config: ProbeConfig,
  options: RunCliOptions,
  io: CliIo,
  telemetry: Telemetry | undefined,
): Promise<RunReport> {
  const showProgress = options.format === "table" && io.stderr.isTTY === true;
  const report = await engine.run({
    ...(options.targets ? { targets: options.targets } : {}),
    ...(options.probes ? { probes: options.probes } : {}),
    trigger: "cli",
    source: "cli",
    ...(showProgress ? { onProgress: (e) => io.stderr.write(renderProgress(e.done, e.total, e.result)) } : {}),
  });
  if (showProgress) io.stderr.write("\r\x1b[2K");
  io.stdout.write(options.format === "json" ? renderJson(report) : renderTable(report, { color: io.stdout.isTTY === true }));
  if (options.junit) {
    const path = resolve(io.cwd, options.junit);
    try {
      await writeFile(path, renderJunit(report));
    } catch (error) {
      throw new OutputFileError("--junit", options.junit, { cause: error });
    }
  }
  if (telemetry) await telemetry.send(report, config, io);
  return report;
}

/**
 * Makes sure `--junit FILE` can be written before any probe runs: its folder is created (a pipeline's
 * `reports/` often does not exist yet) and must be writable. A run that ends in "cannot write" after
 * minutes of probing wastes the run.
 */
export async function prepareOutputFile(io: CliIo, option: string, file: string | undefined): Promise<void> {
  if (file === undefined) return;
  const folder = dirname(resolve(io.cwd, file));
  try {
    await mkdir(folder, { recursive: true });
    await access(folder, constants.W_OK);
  } catch (error) {
    throw new OutputFileError(option, file, { cause: error });
  }
}
