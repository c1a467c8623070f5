/**
 * Runs only the probe engine (no telemetry, no Functions host) in a fresh process, with settings
 * from its environment, so its wall time and peak RSS are the engine's own.
 */
import { peakHeapUsedBytes, peakRssBytes, sampleRss } from "./memory.js";
import { serveOneJob } from "./child.js";
import { cpuMs } from "./cpu.js";
import type { EngineJob, EngineJobResult, EngineRunFigures } from "./engine-protocol.js";
import type { RunReport } from "../src/core/results/types.js";

const MAX_PROBLEMS = 5;

function figuresOf(report: RunReport, wallMs: number, cpuMs: number): EngineRunFigures {
  const called = report.results.filter((r) => r.requestId !== undefined);
  const firstTarget = report.results[0]?.target;
  return {
    wallMs,
    cpuMs,
    byOutcome: report.summary.byOutcome,
    apiRequests: called.length,
    validDurationsMs: report.results
      .filter((r) => r.probe === "valid" && r.outcome === "pass")
      .map((r) => r.durationMs),
    apiProbesPerTarget: called.filter((r) => r.target === firstTarget).length,
    problems: report.results
      .filter((r) => r.outcome !== "pass" && r.outcome !== "skipped")
      .slice(0, MAX_PROBLEMS)
      .map((r) => `${r.target}/${r.probe}: ${r.outcome} ${r.message}`),
  };
}

serveOneJob<EngineJob, EngineJobResult>(async (job) => {
  const stopSampling = sampleRss();
  const importStarted = performance.now();
  const [{ loadSettings }, { createProbeEngine }] = await Promise.all([
    import("../src/core/settings/load-settings.js"),
    import("../src/core/probes/engine.js"),
  ]);
  const importMs = performance.now() - importStarted;
  const rssAfterImportBytes = process.memoryUsage.rss();
  const config = loadSettings(process.env);
  const engine = createProbeEngine(config);
  const runs: EngineRunFigures[] = [];
  try {
    for (let i = 0; i < job.runs; i++) {
      const started = performance.now();
      const cpuBefore = process.cpuUsage();
      const report = await engine.run({
        targetConcurrency: job.targetConcurrency,
        ...(job.probes ? { probes: job.probes } : {}),
      });
      runs.push(figuresOf(report, performance.now() - started, cpuMs(process.cpuUsage(cpuBefore))));
    }
  } finally {
    await engine.close(); // closes the dispatcher only if the engine made it; the child exits anyway
    stopSampling();
  }
  return {
    targets: config.targets.length,
    importMs,
    runs,
    peakRssBytes: peakRssBytes(),
    rssAfterImportBytes,
    peakHeapUsedBytes: peakHeapUsedBytes(),
  };
});
