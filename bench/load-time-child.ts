/**
 * One worker-style load in a fresh process: imports the given entry files one after another, as the
 * Node.js worker imports the files package.json's `main` names, timing each import (an ES module's
 * load is synchronous work on the event loop; this is what the worker times and warns about past
 * 1 s). Optionally then times what the app defers to its first invocation.
 */
import { pathToFileURL } from "node:url";
import { serveOneJob } from "./child.js";

export interface LoadTimeJob {
  entryFiles: string[];
  /** Modules the first invocation imports (the probe runtime), then `preloadTelemetry` of `telemetryModule`. */
  firstInvocation?: { modules: string[]; telemetryModule: string };
}

export interface LoadTimeResult {
  /** Per entry file, in job order, ms. */
  entryMs: number[];
  firstInvocationMs?: number;
}

serveOneJob<LoadTimeJob, LoadTimeResult>(async (job) => {
  const entryMs: number[] = [];
  for (const file of job.entryFiles) {
    const started = performance.now();
    await import(pathToFileURL(file).href);
    entryMs.push(performance.now() - started);
  }
  if (!job.firstInvocation) return { entryMs };
  const started = performance.now();
  for (const file of job.firstInvocation.modules) await import(pathToFileURL(file).href);
  const telemetry = (await import(pathToFileURL(job.firstInvocation.telemetryModule).href)) as {
    preloadTelemetry(): Promise<void>;
  };
  await telemetry.preloadTelemetry();
  return { entryMs, firstInvocationMs: performance.now() - started };
});
