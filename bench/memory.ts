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
let sampledHeapPeak = 0;

/** Largest V8 heapUsed seen by `sampleRss`, bytes: tells JS objects apart from the rest of RSS. */
export function peakHeapUsedBytes(): number {
  return Math.max(sampledHeapPeak, process.memoryUsage().heapUsed);
}

/** Samples RSS and heap use every `intervalMs` until the returned function is called (for systems without VmHWM). */
export function sampleRss(intervalMs = 20): () => void {
  const timer = setInterval(() => {
    const usage = process.memoryUsage();
    sampledPeak = Math.max(sampledPeak, usage.rss);
    sampledHeapPeak = Math.max(sampledHeapPeak, usage.heapUsed);
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}

export const MB = 1024 * 1024;
