import { basename } from "node:path";
import { fileURLToPath } from "node:url";
import { benchScript, runChild } from "./child.js";
import { functionEntryPoints } from "./cold-start.js";
import { formatFigure, ms, ratio, verdict } from "./figures.js";
import type { LoadTimeJob, LoadTimeResult } from "./load-time-child.js";
import { median } from "./stats.js";

/** The target: the app's entry files load in at most 1.5x a minimal v4 app's. */
export const LOAD_TIME_RATIO_TARGET = 1.5;
/** Where the Node.js worker logs `Loading "<file>" took <n>ms` and advises a faster start. */
export const WORKER_SLOW_LOAD_MS = 1000;

const distSrc = (path: string): string => fileURLToPath(new URL(`../src/${path}`, import.meta.url));

/**
 * Figure 8: each entry file's load time, fresh process each repetition, against the minimal v4 app
 * (bench/minimal-v4-app.ts); the two kinds alternate so that a slow moment hits both alike. Also
 * what the first invocation then loads (the probe runtime and applicationinsights): deferred, not gone.
 */
export async function loadTimeFigure(repetitions: number): Promise<string> {
  const entryFiles = functionEntryPoints();
  const ours: LoadTimeJob = {
    entryFiles,
    firstInvocation: {
      modules: [distSrc("functions/support/probe-runtime.js")],
      telemetryModule: distSrc("core/telemetry/index.js"),
    },
  };
  const minimal: LoadTimeJob = { entryFiles: [benchScript("minimal-v4-app")] };
  const script = benchScript("load-time-child");
  // Outside Azure: no settings needed to import; @azure/functions is in test mode and skips registration.
  const env = { PATH: process.env.PATH ?? "" };
  const oursRuns: LoadTimeResult[] = [];
  const minimalRuns: LoadTimeResult[] = [];
  for (let i = 0; i < repetitions; i++) {
    minimalRuns.push((await runChild<LoadTimeJob, LoadTimeResult>(script, minimal, { env })).result);
    oursRuns.push((await runChild<LoadTimeJob, LoadTimeResult>(script, ours, { env })).result);
  }
  const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
  const perFile = entryFiles.map((_, i) => median(oursRuns.map((r) => r.entryMs[i] ?? 0)));
  const oursTotal = median(oursRuns.map((r) => sum(r.entryMs)));
  const minimalTotal = median(minimalRuns.map((r) => sum(r.entryMs)));
  const slowest = Math.max(...oursRuns.flatMap((r) => r.entryMs));
  const firstInvocation = median(oursRuns.map((r) => r.firstInvocationMs ?? 0));
  const timeRatio = oursTotal / minimalTotal;
  return formatFigure({
    id: 8,
    title: `entry-file load (fresh process, median of ${repetitions}): ${entryFiles.length} Functions entry files in main-glob order vs a minimal v4 app (@azure/functions alone)`,
    measured: `ours ${ms(oursTotal)} (${entryFiles.map((f, i) => `${basename(f)} ${ms(perFile[i] ?? 0)}`).join(", ")}); minimal ${ms(minimalTotal)}; ratio ${ratio(timeRatio)}; slowest single load ${ms(slowest)}`,
    target: `target <= ${LOAD_TIME_RATIO_TARGET}x the minimal app, every file under the worker's ${ms(WORKER_SLOW_LOAD_MS)} warning`,
    verdicts: [verdict(timeRatio <= LOAD_TIME_RATIO_TARGET), verdict(slowest < WORKER_SLOW_LOAD_MS)],
    details: [
      `deferred to the first invocation, before its first probe: probe runtime + applicationinsights ${ms(firstInvocation)}`,
    ],
  });
}
