/** Order statistics for the benchmark's samples. Pure functions, unit-tested in test/bench/. */

/**
 * The p-th percentile (0 < p <= 100) by the nearest-rank method: the smallest sample such that at
 * least p% of the samples are at or below it. With 100 samples p99 is the 99th smallest, with fewer
 * it is the largest: the method never invents a value between two observations.
 */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) throw new RangeError("percentile of no samples");
  if (!(p > 0 && p <= 100)) throw new RangeError("percentile p must be in (0, 100]");
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

/** The median; for an even count, the mean of the two middle samples. */
export function median(samples: readonly number[]): number {
  if (samples.length === 0) throw new RangeError("median of no samples");
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The ideal wall time of `requests` requests of `latencyMs` each, `concurrency` at a time. */
export function idealWallMs(requests: number, concurrency: number, latencyMs: number): number {
  if (!(concurrency >= 1)) throw new RangeError("concurrency must be at least 1");
  return Math.ceil(requests / concurrency) * latencyMs;
}
