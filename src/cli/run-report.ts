import { writeFile } from "node:fs/promises";
import { resolve } from "node:path";
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
  if (options.junit) await writeFile(resolve(io.cwd, options.junit), renderJunit(report));
  if (telemetry) await telemetry.send(report, config, io);
  return report;
}
