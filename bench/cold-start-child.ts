/**
 * One cold start in a fresh process: imports either the compiled Functions entry points (every
 * registration runs; outside the host @azure/functions is in test mode and skips it), then what the
 * first invocation imports (the probe runtime) and waits for telemetry to be loaded, or only the two
 * libraries they stand on, or those two and every other third-party package our code imports;
 * reports time and RSS.
 */
import { pathToFileURL } from "node:url";
import { serveOneJob } from "./child.js";
import { peakRssBytes } from "./memory.js";

export type ColdStartJob =
  | { kind: "libraries" }
  | { kind: "dependencies"; packages: string[] }
  | { kind: "functions"; entryPoints: string[]; firstInvocationModules: string[]; telemetryModule: string };

export interface ColdStartResult {
  importMs: number;
  rssBytes: number;
  peakRssBytes: number;
}

serveOneJob<ColdStartJob, ColdStartResult>(async (job) => {
  const started = performance.now();
  if (job.kind === "libraries") {
    await import("@azure/functions");
    await import("applicationinsights");
  } else if (job.kind === "dependencies") {
    for (const name of job.packages) await import(name);
  } else {
    for (const entry of job.entryPoints) await import(pathToFileURL(entry).href);
    // The entry points defer the probe runtime and applicationinsights to the first invocation: load them as it does.
    for (const file of job.firstInvocationModules) await import(pathToFileURL(file).href);
    const telemetry = (await import(pathToFileURL(job.telemetryModule).href)) as { preloadTelemetry(): Promise<void> };
    await telemetry.preloadTelemetry();
  }
  const importMs = performance.now() - started;
  return { importMs, rssBytes: process.memoryUsage.rss(), peakRssBytes: peakRssBytes() };
});
