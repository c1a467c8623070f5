import type { Outcome } from "../src/core/results/types.js";

/** What the engine child (engine-child.ts) is asked to do: `runs` consecutive runs in one engine. */
export interface EngineJob {
  runs: number;
  targetConcurrency: number;
}

export interface EngineRunFigures {
  /** engine.run() from call to report, ms. */
  wallMs: number;
  byOutcome: Record<Outcome, number>;
  /** Requests sent to the API: results of probes other than `token` that were not skipped. */
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
}
