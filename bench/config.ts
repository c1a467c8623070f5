/** Sizes of the bench, from BENCH_* environment variables; defaults finish in a few minutes on 2 cores. */
export interface BenchConfig {
  /** Injected backend latency L for figures 1, 2 and 4, ms. */
  latencyMs: number;
  /** Consecutive runs of one target (figures 1 and 4): the first is cold, the rest warm. */
  singleTargetRuns: number;
  /** Figure 2. */
  scaleTargets: number;
  /** Targets in flight at once (the engine's targetConcurrency) in figures 2, 3 and 6. */
  targetConcurrency: number;
  /** Figure 3. */
  tokenRuns: number;
  tokenTargets: number;
  tokenLatencyMs: number;
  /** Figure 5. */
  coldStartRepetitions: number;
  /** Figure 6: targets and backend latency both tools run with. */
  peerTargets: number;
  peerLatencyMs: number;
  /** APIs the sandbox publishes; targets cycle over them. */
  apis: number;
  /** Figure 7: APIs in the generated APIOps folder. */
  estateApis: number;
  /** Figure 8: fresh processes of each kind. */
  loadTimeRepetitions: number;
  /** Figure 9: availability results in the one run delivered. */
  deliveryResults: number;
}

function int(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) throw new RangeError(`${name} must be a whole number >= ${min}`);
  return value;
}

export function readBenchConfig(env: NodeJS.ProcessEnv): BenchConfig {
  const latencyMs = int(env, "BENCH_LATENCY_MS", 200, 1);
  return {
    latencyMs,
    singleTargetRuns: int(env, "BENCH_SINGLE_TARGET_RUNS", 101, 2),
    scaleTargets: int(env, "BENCH_TARGETS", 500, 1),
    targetConcurrency: int(env, "BENCH_TARGET_CONCURRENCY", 16, 1),
    tokenRuns: int(env, "BENCH_TOKEN_RUNS", 20, 1),
    tokenTargets: int(env, "BENCH_TOKEN_TARGETS", 50, 1),
    tokenLatencyMs: int(env, "BENCH_TOKEN_LATENCY_MS", 20, 0),
    coldStartRepetitions: int(env, "BENCH_COLD_START_REPETITIONS", 7, 1),
    peerTargets: int(env, "BENCH_PEER_TARGETS", 500, 1),
    peerLatencyMs: int(env, "BENCH_PEER_LATENCY_MS", latencyMs, 0),
    apis: int(env, "BENCH_APIS", 10, 1),
    estateApis: int(env, "BENCH_ESTATE_APIS", 300, 1),
    loadTimeRepetitions: int(env, "BENCH_LOAD_TIME_REPETITIONS", 7, 1),
    deliveryResults: int(env, "BENCH_DELIVERY_RESULTS", 3000, 1),
  };
}
