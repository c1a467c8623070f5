/**
 * `npm run bench`: the six figures of issue 7, one line each with the measured value and the
 * ideal/target it is compared with. It asserts nothing; it prints. The sandbox runs in its own
 * process and each measured subject (engine, Newman, cold imports) in a fresh child process, so that
 * wall times and peak RSS belong to the subject alone.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { measureColdStart, OTHER_DEPENDENCIES } from "./cold-start.js";
import { readBenchConfig } from "./config.js";
import { scaleFigure, singleTargetFigures, TARGETS, tokenFigure } from "./engine-figures.js";
import { formatFigure, mb, ms, ratio, verdict } from "./figures.js";
import { deliveryFigure } from "./delivery-figure.js";
import { estateFigure } from "./estate-figure.js";
import { peerFigure } from "./peer-figure.js";
import { startSandboxProcess } from "./sandbox-client.js";

const config = readBenchConfig(process.env);
const print = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

print(`apim-smoke-probe bench ${new Date().toISOString()} | node ${process.version} | ${cpus().length} cpus (${cpus()[0]?.model ?? "?"}) | ${mb(totalmem())} memory`);
print(`sizes: ${JSON.stringify(config)}`);

const benchStarted = performance.now();
const workDir = await mkdtemp(join(tmpdir(), "apim-smoke-bench-"));
const sandbox = await startSandboxProcess({ extraApis: config.apis - 1, backendLatencyMs: config.latencyMs });
try {
  // Figures 1 and 4 come from the same single-target runs; 4 is printed in its place.
  const [figure1, figure4] = await singleTargetFigures(sandbox, config.latencyMs, config.singleTargetRuns);
  print(figure1);
  print(await scaleFigure(sandbox, workDir, config.latencyMs, config.scaleTargets, config.targetConcurrency));
  print(await tokenFigure(sandbox, workDir, config.tokenLatencyMs, config.tokenTargets, config.targetConcurrency, config.tokenRuns));
  print(figure4);

  const cold = await measureColdStart(config.coldStartRepetitions);
  const timeRatio = cold.functions.importMs / cold.libraries.importMs;
  print(
    formatFigure({
      id: 5,
      title: `cold start (fresh process, median of ${cold.repetitions}): ${cold.entryPoints.length} Functions entry points + telemetry loaded vs @azure/functions + applicationinsights alone`,
      measured: `ours ${ms(cold.functions.importMs)} / RSS ${mb(cold.functions.rssBytes)}; libraries ${ms(cold.libraries.importMs)} / RSS ${mb(cold.libraries.rssBytes)}; ratio ${ratio(timeRatio)}, our code adds ${ms(cold.functions.importMs - cold.libraries.importMs)} and ${mb(cold.functions.rssBytes - cold.libraries.rssBytes)}`,
      target: `target <= ${TARGETS.coldStartRatio}x the libraries' import`,
      verdicts: [verdict(timeRatio <= TARGETS.coldStartRatio)],
      details: [
        `libraries + the other packages our code imports (${OTHER_DEPENDENCIES.join(", ")}): ${ms(cold.dependencies.importMs)} / RSS ${mb(cold.dependencies.rssBytes)}, so of what ours adds, those packages take ${ms(cold.dependencies.importMs - cold.libraries.importMs)} and our own modules ${ms(cold.functions.importMs - cold.dependencies.importMs)}`,
      ],
    }),
  );

  print(await peerFigure(sandbox, workDir, config.peerLatencyMs, config.peerTargets, config.targetConcurrency));
  print(await estateFigure(workDir, config.estateApis, config.latencyMs, config.targetConcurrency));
  print(await deliveryFigure(workDir, config.deliveryResults));
} finally {
  await sandbox.close();
  await rm(workDir, { recursive: true, force: true });
}
print(`bench took ${ms(performance.now() - benchStarted)}`);
