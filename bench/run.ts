/**
 * `npm run bench`: the figures, one line each with the measured value and the
 * ideal/target it is compared with. It asserts nothing; it prints. The sandbox runs in its own
 * process and each measured subject (engine, Newman, cold imports) in a fresh child process, so that
 * wall times and peak RSS belong to the subject alone.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { measureColdStart, OTHER_DEPENDENCIES } from "./cold-start.js";
import { readBenchConfig } from "./config.js";
import { scaleFigure, singleTargetFigures, TARGETS, tokenFigure } from "./engine-figures.js";
import { formatFigure, mb, ms, ratio, verdict } from "./figures.js";
import { deliveryFigure } from "./delivery-figure.js";
import { estateFigure } from "./estate-figure.js";
import { loadTimeFigure } from "./load-time.js";
import { peerFigure } from "./peer-figure.js";
import { startSandboxProcess } from "./sandbox-client.js";

const config = readBenchConfig(process.env);
const print = (line: string): void => {
  process.stdout.write(`${line}\n`);
};
const only = onlyFigures(process.argv.slice(2));
const wanted = (id: number): boolean => !only || only.has(id);

print(
  `apim-smoke-probe bench ${new Date().toISOString()} | node ${process.version} | ${cpus().length} cpus (${cpus()[0]?.model ?? "?"}) | ${mb(totalmem())} memory`,
);
print(`sizes: ${JSON.stringify(config)}${only ? ` | only figures ${[...only].join(", ")}` : ""}`);

const benchStarted = performance.now();
const workDir = await mkdtemp(join(tmpdir(), "apim-smoke-bench-"));
// Figures 8 and 9 need no sandbox; the others do.
const sandbox = [1, 2, 3, 4, 6, 7].some(wanted)
  ? await startSandboxProcess({ extraApis: config.apis - 1, backendLatencyMs: config.latencyMs })
  : undefined;
try {
  if (sandbox && (wanted(1) || wanted(4))) {
    // Figures 1 and 4 come from the same single-target runs; 4 is printed in its place.
    const [figure1, figure4] = await singleTargetFigures(sandbox, config.latencyMs, config.singleTargetRuns);
    if (wanted(1)) print(figure1);
    if (wanted(4)) print(figure4);
  }
  // Figure 6 runs Newman; figures 2 and 7 are judged on CPU per request against Newman's from it.
  const peer =
    sandbox && [2, 6, 7].some(wanted)
      ? await peerFigure(sandbox, workDir, config.peerLatencyMs, config.peerTargets, config.targetConcurrency)
      : undefined;
  if (sandbox && peer && wanted(2))
    print(
      await scaleFigure(
        sandbox,
        workDir,
        config.latencyMs,
        config.scaleTargets,
        config.targetConcurrency,
        peer.newmanCpuPerRequestMs,
      ),
    );
  if (sandbox && wanted(3))
    print(
      await tokenFigure(
        sandbox,
        workDir,
        config.tokenLatencyMs,
        config.tokenTargets,
        config.targetConcurrency,
        config.tokenRuns,
      ),
    );

  if (wanted(5)) {
    const cold = await measureColdStart(config.coldStartRepetitions);
    const timeRatio = cold.functions.importMs / cold.libraries.importMs;
    print(
      formatFigure({
        id: 5,
        title: `cold start (fresh process, median of ${cold.repetitions}): ${cold.entryPoints.length} Functions entry points + what the first invocation loads (probe runtime, telemetry) vs @azure/functions + applicationinsights alone`,
        measured: `ours ${ms(cold.functions.importMs)} / RSS ${mb(cold.functions.rssBytes)}; libraries ${ms(cold.libraries.importMs)} / RSS ${mb(cold.libraries.rssBytes)}; ratio ${ratio(timeRatio)}, our code adds ${ms(cold.functions.importMs - cold.libraries.importMs)} and ${mb(cold.functions.rssBytes - cold.libraries.rssBytes)}`,
        target: `target <= ${TARGETS.coldStartRatio}x the libraries' import`,
        verdicts: [verdict(timeRatio <= TARGETS.coldStartRatio)],
        details: [
          `libraries + the other packages our code imports (${OTHER_DEPENDENCIES.join(", ")}): ${ms(cold.dependencies.importMs)} / RSS ${mb(cold.dependencies.rssBytes)}, so of what ours adds, those packages take ${ms(cold.dependencies.importMs - cold.libraries.importMs)} and our own modules ${ms(cold.functions.importMs - cold.dependencies.importMs)}`,
        ],
      }),
    );
  }

  if (peer && wanted(6)) print(peer.line);
  if (peer && wanted(7))
    print(
      await estateFigure(
        workDir,
        config.estateApis,
        config.latencyMs,
        config.targetConcurrency,
        peer.newmanCpuPerRequestMs,
      ),
    );
  if (wanted(8)) print(await loadTimeFigure(config.loadTimeRepetitions));
  if (wanted(9)) print(await deliveryFigure(workDir, config.deliveryResults));
} finally {
  await sandbox?.close();
  await rm(workDir, { recursive: true, force: true });
}
print(`bench took ${ms(performance.now() - benchStarted)}`);

/** `--only 5,8` (or `--only=5,8`): just those figures (and figure 6 when 2 or 7 is asked for: they need Newman's CPU). */
function onlyFigures(args: readonly string[]): Set<number> | undefined {
  const { values } = parseArgs({ args, options: { only: { type: "string" } } });
  if (values.only === undefined) return undefined;
  const ids = values.only.split(",").map((id) => Number(id.trim()));
  if (ids.some((id) => !Number.isInteger(id) || id < 1 || id > 8))
    throw new RangeError(`--only takes figure numbers 1 to 8, comma-separated; got ${JSON.stringify(values.only)}`);
  return new Set(ids);
}
