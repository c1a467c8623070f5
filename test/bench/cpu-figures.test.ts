import { describe, expect, it } from "vitest";
import { cpuMs } from "../../bench/cpu.js";
import { cpuPerRequest, TARGETS } from "../../bench/engine-figures.js";
import type { EngineRunFigures } from "../../bench/engine-protocol.js";

const run = (cpu: number, apiRequests: number): EngineRunFigures => ({
  wallMs: 1000,
  cpuMs: cpu,
  byOutcome: { pass: apiRequests, fail: 0, security: 0, error: 0, blocked: 0, skipped: 0 },
  apiRequests,
  validDurationsMs: [],
  apiProbesPerTarget: 7,
  problems: [],
});

describe("CPU per request", () => {
  it("adds user and system time, microseconds to ms", () => {
    expect(cpuMs({ user: 1500, system: 500 })).toBe(2);
  });

  it("divides the engine's CPU by the requests that reached the gateway and judges it against Newman's", () => {
    // 700 ms over 3500 requests = 0.2 ms; Newman 12 ms: 0.017 of it.
    const pass = cpuPerRequest(run(700, 3500), 12);
    expect(pass.verdict).toBe("PASS");
    expect(pass.text).toContain("CPU 0.20 ms per request");
    expect(pass.text).toContain("0.02, target <= 0.20");
    // At exactly a fifth it passes; above, it misses.
    expect(cpuPerRequest(run(12 * TARGETS.cpuPerRequestVsNewman * 100, 100), 12).verdict).toBe("PASS");
    expect(cpuPerRequest(run(300, 100), 12).verdict).toBe("MISS");
  });

  it("does not divide by zero when nothing reached the gateway", () => {
    expect(cpuPerRequest(run(50, 0), 12).text).toContain("CPU 50 ms per request");
  });
});
