/**
 * CPU time of this process: what it did itself, which the neighbours on shared cores (the sandbox,
 * other jobs) slow down in wall time but do not add to.
 */

/** User + system CPU time of a `process.cpuUsage(previous)` difference (microseconds), in ms. */
export const cpuMs = (usage: NodeJS.CpuUsage): number => (usage.user + usage.system) / 1000;
