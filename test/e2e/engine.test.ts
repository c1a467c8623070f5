import { afterEach, describe, expect, it } from "vitest";
import { createProbeEngine } from "../../src/core/probes/engine.js";
import type { ProbeName } from "../../src/core/probes/names.js";
import type { Outcome, ProbeResult, RunReport } from "../../src/core/results/types.js";
import { loadSettings } from "../../src/core/settings/load-settings.js";
import { startSandbox, type Sandbox, type ScenarioName } from "../../src/sandbox/index.js";

let sandbox: Sandbox | undefined;
afterEach(async () => {
  await sandbox?.close();
  sandbox = undefined;
});

async function runScenario(
  scenario: ScenarioName,
  options: { tokenLifetimeSeconds?: number; env?: Record<string, string> } = {},
): Promise<RunReport> {
  sandbox = await startSandbox({ scenario, ...(options.tokenLifetimeSeconds ? { tokenLifetimeSeconds: options.tokenLifetimeSeconds } : {}) });
  const config = loadSettings({ ...sandbox.settings, ...options.env });
  const engine = createProbeEngine(config);
  try {
    return await engine.run();
  } finally {
    await engine.close();
  }
}

const outcomes = (report: RunReport): Record<ProbeName, Outcome> =>
  Object.fromEntries(report.results.map((r) => [r.probe, r.outcome])) as Record<ProbeName, Outcome>;
const result = (report: RunReport, probe: ProbeName): ProbeResult => report.results.find((r) => r.probe === probe)!;

describe("engine against the sandbox", () => {
  it("healthy: every probe passes (expired-token skipped until one has aged)", async () => {
    const report = await runScenario("healthy");
    console.log(report.results.map((r) => `${r.probe} ${r.outcome} ${r.message}`).join("\n"));
    expect(outcomes(report)).toEqual({
      token: "pass",
      valid: "pass",
      "no-subscription-key": "pass",
      "invalid-subscription-key": "pass",
      "no-token": "pass",
      "wrong-audience": "pass",
      "expired-token": "skipped",
      "forged-signature": "pass",
      "alg-none": "pass",
      "unassigned-client": "pass",
    });
    expect(report.summary.ok).toBe(true);
  });
});
