import { readFileSync } from "node:fs";

/**
 * Peak resident set size of this process, bytes: the kernel's high-water mark (VmHWM in
 * /proc/self/status, see proc(5)), which catches a peak between two samples. Where /proc is absent,
 * the largest `process.memoryUsage.rss()` seen by `sampleRss` (call it often) stands in.
 */
export function peakRssBytes(): number {
  try {
    const match = /^VmHWM:\s+(\d+)\s+kB$/m.exec(readFileSync("/proc/self/status", "utf8"));
    if (match?.[1]) return Number(match[1]) * 1024;
  } catch {
    // not Linux: fall back to sampling
  }
  return Math.max(sampledPeak, process.memoryUsage.rss());
}

let sampledPeak = 0;

/** Samples RSS every `intervalMs` until the returned function is called (for systems without VmHWM). */
export function sampleRss(intervalMs = 20): () => void {
  const timer = setInterval(() => {
    sampledPeak = Math.max(sampledPeak, process.memoryUsage.rss());
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}

export const MB = 1024 * 1024;
