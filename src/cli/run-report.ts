import type { ProbeState } from "../core/state/index.js";
import { access, constants, mkdir, stat, writeFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { OutputFileError } from "../core/errors.js";
import type { ProbeEngine } from "../core/probes/engine.js";
import type { ProbeName } from "../core/probes/names.js";
import { renderJson } from "../core/results/json.js";
import { renderJunit } from "../core/results/junit.js";
import { colorFor, DEFAULT_TABLE_WIDTH, renderProgress, renderTable } from "../core/results/table.js";
import type { ProbeResult, RunReport } from "../core/results/types.js";
import type { ProbeConfig } from "../core/settings/types.js";
import type { CliIo } from "./io.js";
import type { Telemetry } from "./telemetry.js";

export interface RunCliOptions {
  targets?: string[];
  probes?: ProbeName[];
  format: "table" | "json";
  junit?: string;
  /** JSON on one line (NDJSON), for `watch`: one run a line. */
  ndjson?: boolean;
  /** Where results ingestion did not take wait for the next run (`--state-dir`). */
  state?: ProbeState;
}

/** How often a run without a terminal says how far it got, so a CI log shows it is alive. */
export const PROGRESS_INTERVAL_MS = 5_000;

/**
 * One run as the CLI shows it: progress on stderr, table or JSON on stdout, JUnit file, telemetry.
 * Resolves to the report and how many availability results ingestion did not accept.
 */
export async function runAndReport(
  engine: ProbeEngine,
  config: ProbeConfig,
  options: RunCliOptions,
  io: CliIo,
  telemetry: Telemetry | undefined,
): Promise<{ report: RunReport; lostResults: number }> {
  const progress = progressReporter(io);
  let report: RunReport;
  try {
    report = await engine.run({
      ...(options.targets ? { targets: options.targets } : {}),
      ...(options.probes ? { probes: options.probes } : {}),
      trigger: "cli",
      source: "cli",
      onProgress: (e) => progress.update(e.done, e.total, e.type === "result" ? e.result : undefined),
      onStateProblem: (problem) => io.stderr.write(`state: ${problem}\n`),
    });
  } finally {
    progress.end();
  }
  io.stdout.write(
    options.format === "json"
      ? renderJson(report, { ndjson: options.ndjson === true })
      : renderTable(report, { color: colorFor(io.stdout, io.env), width: io.stdout.columns ?? DEFAULT_TABLE_WIDTH }),
  );
  // The results go out first: a file that cannot be written must not cost the availability history.
  const lostResults = telemetry ? await telemetry.send(report, config, io, options.state?.outbox) : 0;
  if (options.junit) {
    const path = resolve(io.cwd, options.junit);
    try {
      await writeFile(path, renderJunit(report));
    } catch (error) {
      throw new OutputFileError("--junit", options.junit, { cause: error });
    }
  }
  return { report, lostResults };
}

/**
 * Progress on stderr: on a terminal, one line rewritten in place; elsewhere (a CI log), a plain line
 * every PROGRESS_INTERVAL_MS while the run lasts, so a long run does not look hung. Never on stdout,
 * which holds the table or JSON.
 */
function progressReporter(io: CliIo): { update(done: number, total: number, last: ProbeResult | undefined): void; end(): void } {
  if (io.stderr.isTTY === true && io.env.TERM !== "dumb") {
    let shown = false;
    return {
      update(done, total, last) {
        if (!last) return;
        io.stderr.write(renderProgress(done, total, last));
        shown = true;
      },
      end() {
        if (shown) io.stderr.write("\r\x1b[2K");
      },
    };
  }
  const started = performance.now();
  let state = { done: 0, total: 0 };
  const timer = setInterval(() => {
    if (state.total === 0) return;
    io.stderr.write(`progress: ${state.done}/${state.total} probes done (${Math.round((performance.now() - started) / 1000)} s)\n`);
  }, io.progressIntervalMs ?? PROGRESS_INTERVAL_MS);
  timer.unref();
  return {
    update(done, total) {
      state = { done, total };
    },
    end() {
      clearInterval(timer);
    },
  };
}

/**
 * Makes sure `--junit FILE` can be written before any probe runs: its folder is created (a pipeline's
 * `reports/` often does not exist yet) and must be writable. A run that ends in "cannot write" after
 * minutes of probing wastes the run.
 */
export async function prepareOutputFile(io: CliIo, option: string, file: string | undefined): Promise<void> {
  if (file === undefined) return;
  const path = resolve(io.cwd, file);
  const folder = dirname(path);
  try {
    await mkdir(folder, { recursive: true });
    await access(folder, constants.W_OK);
    // A folder where the file should be: writing it would fail only after the run.
    if ((await stat(path).catch(() => undefined))?.isDirectory()) throw Object.assign(new Error("is a directory"), { code: "EISDIR" });
  } catch (error) {
    throw new OutputFileError(option, file, { cause: error });
  }
}
