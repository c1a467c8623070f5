/**
 * Runs Newman (the peer) in a fresh process through its Node API, the way `newman run` does, and
 * reports its run wall time and peak RSS. TLS trusts the sandbox CA through `sslExtraCaCerts` (and
 * NODE_EXTRA_CA_CERTS in this process's environment); insecure mode is never used.
 */
import { createRequire } from "node:module";
import { serveOneJob } from "./child.js";
import { cpuMs } from "./cpu.js";
import { peakRssBytes, sampleRss } from "./memory.js";

export interface NewmanJob {
  collectionFile: string;
  environment: Record<string, unknown>;
  caFile: string;
}

export interface NewmanJobResult {
  importMs: number;
  wallMs: number;
  /** CPU time of Newman's process during the run (user + system), ms. */
  cpuMs: number;
  requests: number;
  assertions: number;
  failedAssertions: number;
  failures: string[];
  peakRssBytes: number;
}

interface NewmanSummary {
  run: {
    stats: { requests: { total: number }; assertions: { total: number; failed: number } };
    failures: { error?: { message?: string }; source?: { name?: string } }[];
  };
}
type NewmanRun = (
  options: Record<string, unknown>,
  callback: (error: Error | null, summary: NewmanSummary) => void,
) => unknown;

serveOneJob<NewmanJob, NewmanJobResult>(async (job) => {
  const stopSampling = sampleRss();
  const importStarted = performance.now();
  const newman = createRequire(import.meta.url)("newman") as { run: NewmanRun };
  const importMs = performance.now() - importStarted;
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  const summary = await new Promise<NewmanSummary>((resolve, reject) => {
    newman.run(
      {
        collection: job.collectionFile,
        environment: job.environment,
        sslExtraCaCerts: job.caFile,
        reporters: [],
        timeoutRequest: 10_000,
      },
      (error, result) => (error ? reject(error) : resolve(result)),
    );
  });
  const wallMs = performance.now() - started;
  const runCpuMs = cpuMs(process.cpuUsage(cpuBefore));
  stopSampling();
  return {
    importMs,
    wallMs,
    cpuMs: runCpuMs,
    requests: summary.run.stats.requests.total,
    assertions: summary.run.stats.assertions.total,
    failedAssertions: summary.run.stats.assertions.failed,
    failures: summary.run.failures.slice(0, 5).map((f) => `${f.source?.name ?? "?"}: ${f.error?.message ?? "?"}`),
    peakRssBytes: peakRssBytes(),
  };
});
