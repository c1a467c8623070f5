import { describeDamaged, type ProbeState } from "../core/state/index.js";
import { access, constants, mkdir, stat, writeFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { OutputFileError } from "../core/errors.js";
import type { ProbeEngine } from "../core/probes/engine.js";
import type { ProbeName } from "../probe-matrix/names.js";
import { renderJson } from "../core/results/json.js";
import { renderJunit } from "../core/results/junit.js";
import {
  colorFor,
  DEFAULT_TABLE_WIDTH,
  describeProgress,
  renderProgress,
  renderTable,
  type ProgressCounts,
  type TableView,
} from "../core/results/table.js";
import type { ProbeResult, RunReport } from "../core/results/types.js";
import type { ProbeConfig } from "../core/settings/types.js";
import { EXIT_NOT_OK, EXIT_NOTHING_PROVEN, EXIT_OK, EXIT_RESULTS_LOST, type CliIo } from "./io.js";
import type { Telemetry } from "./telemetry.js";

export interface RunCliOptions {
  targets?: string[];
  probes?: ProbeName[];
  format: "table" | "json";
  junit?: string;
  /** How much the table shows (`--verbose`: full, `--quiet`); default auto. */
  view?: TableView;
  /** JSON on one line (NDJSON), for `watch`: one run a line. */
  ndjson?: boolean;
  /** Where results ingestion did not take wait for the next run (`--state-dir`). */
  state?: ProbeState;
}

/** How often a run without a terminal says how far it got, so a CI log shows it is alive. */
export const PROGRESS_INTERVAL_MS = 5_000;

/**
 * One run as the CLI shows it: progress on stderr, telemetry (sent, or kept, first: nothing after
 * the run can lose the results, and the exit code the JSON carries depends on what ingestion took),
 * then the JUnit file and the table or JSON on stdout (with the `delivery` section).
 * Resolves to the report and the run's exit code.
 */
export async function runAndReport(
  engine: ProbeEngine,
  config: ProbeConfig,
  options: RunCliOptions,
  io: CliIo,
  telemetry: Telemetry | undefined,
): Promise<{ report: RunReport; exitCode: number }> {
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
  // The results go out first: nothing after the run (a file that cannot be written) may cost the
  // availability history, and the exit code the JSON carries depends on what ingestion took.
  const delivery = telemetry ? await telemetry.send(report, config, io, options.state?.outbox) : undefined;
  // The harvest's or token summaries' document found damaged: its copy was kept; say so, and not exit 0.
  const damagedState = options.state?.takeDamaged() ?? [];
  for (const d of damagedState) io.stderr.write(`state: ${describeDamaged(d)}\n`);
  const exitCode = runExitCode(report, (delivery?.needsAttention ?? false) || damagedState.length > 0);
  io.stdout.write(
    options.format === "json"
      ? renderJson(report, { ndjson: options.ndjson === true, exitCode })
      : renderTable(report, {
          color: colorFor(io.stdout, io.env),
          width: io.stdout.columns ?? DEFAULT_TABLE_WIDTH,
          ...(options.view ? { view: options.view } : {}),
        }),
  );
  if (options.junit) {
    const path = resolve(io.cwd, options.junit);
    try {
      await writeFile(path, renderJunit(report));
    } catch (error) {
      throw new OutputFileError("--junit", options.junit, { cause: error });
    }
  }
  return { report, exitCode };
}

/**
 * 4 every probe was skipped (nothing proven); 1 one did not pass; 3 all passed but the delivery needs
 * attention (results lost or evicted, a damaged state set aside); else 0. An output file that cannot
 * be written is thrown after the results were sent and shown (exit 5).
 */
export function runExitCode(report: RunReport, deliveryNeedsAttention: boolean): number {
  if (report.summary.nothingProven) return EXIT_NOTHING_PROVEN;
  if (!report.summary.ok) return EXIT_NOT_OK;
  return deliveryNeedsAttention ? EXIT_RESULTS_LOST : EXIT_OK;
}

/**
 * Progress on stderr: on a terminal, one line rewritten in place; elsewhere (a CI log), a plain line
 * every PROGRESS_INTERVAL_MS while the run lasts, so a long run does not look hung. Never on stdout,
 * which holds the table or JSON.
 */
function progressReporter(io: CliIo): {
  update(done: number, total: number, last: ProbeResult | undefined): void;
  end(): void;
} {
  const counts: ProgressCounts = { done: 0, total: 0, passed: 0, failed: 0, security: 0 };
  const count = (done: number, total: number, last: ProbeResult | undefined): void => {
    counts.done = done;
    counts.total = total;
    if (!last) return;
    if (last.outcome === "pass") counts.passed++;
    else if (last.outcome === "security") counts.security++;
    else if (last.outcome !== "skipped") counts.failed++;
  };
  if (io.stderr.isTTY === true && io.env.TERM !== "dumb") {
    let shown = false;
    return {
      update(done, total, last) {
        count(done, total, last);
        if (!last) return;
        io.stderr.write(renderProgress(counts));
        shown = true;
      },
      end() {
        if (shown) io.stderr.write("\r\x1b[2K");
      },
    };
  }
  const started = performance.now();
  const timer = setInterval(() => {
    if (counts.total === 0) return;
    io.stderr.write(`progress: ${describeProgress(counts)} (${Math.round((performance.now() - started) / 1000)} s)\n`);
  }, io.progressIntervalMs ?? PROGRESS_INTERVAL_MS);
  timer.unref();
  return {
    update: count,
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
    if ((await stat(path).catch(() => undefined))?.isDirectory())
      throw Object.assign(new Error("is a directory"), { code: "EISDIR" });
  } catch (error) {
    throw new OutputFileError(option, file, { cause: error });
  }
}
