import type { ProbeName } from "../src/probe-matrix/names.js";
import type { Outcome } from "../src/core/results/types.js";

/** What the engine child (engine-child.ts) is asked to do: `runs` consecutive runs in one engine. */
export interface EngineJob {
  runs: number;
  targetConcurrency: number;
  /** Only these probes (default: the full matrix). */
  probes?: ProbeName[];
}

export interface EngineRunFigures {
  /** engine.run() from call to report, ms. */
  wallMs: number;
  /**
   * CPU time the engine's process spent during the run (user + system, `process.cpuUsage()`), ms:
   * its own work, whatever the sandbox on the same cores is doing meanwhile.
   */
  cpuMs: number;
  byOutcome: Record<Outcome, number>;
  /**
   * Requests that reached the gateway: results carrying APIM's request id. Not every probe calls the
   * API: `unassigned-client` passes on Entra refusing the token (AADSTS501051), `expired-token` is
   * skipped until a token has expired.
   */
  apiRequests: number;
  /** `durationMs` of every `valid` result. */
  validDurationsMs: number[];
  /** Probes that called the API per target (the same for every target in a run). */
  apiProbesPerTarget: number;
  /** A few non-passing results (target/probe: outcome message) for the bench to show. */
  problems: string[];
}

export interface EngineJobResult {
  targets: number;
  /** Time to import the engine modules, ms. */
  importMs: number;
  runs: EngineRunFigures[];
  peakRssBytes: number;
  /** RSS once the engine modules are imported, before any run. */
  rssAfterImportBytes: number;
  /** Largest V8 heapUsed sampled during the runs. */
  peakHeapUsedBytes: number;
}
