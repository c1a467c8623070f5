import { afterAll, describe, expect, it } from "vitest";
import { createProbeEngine } from "../../src/core/probes/engine.js";
import { loadSettings } from "../../src/core/settings/load-settings.js";
import { createAvailabilityReporter } from "../../src/core/telemetry/index.js";
import { startSandbox, type ScenarioName } from "../../src/sandbox/index.js";
import { firedRules, rowFromAvailabilityEnvelope, type AlertRuleName } from "../infra/rules.js";

/**
 * The alert rules' conditions (mirrored in TypeScript from infra/kql) evaluated on what the
 * probe really produced against each sandbox scenario, as it reached App Insights ingestion: the
 * security rule must fire for a fail-open gateway and stay quiet for a healthy one.
 */
async function alertsFor(scenario: ScenarioName, runs: number): Promise<AlertRuleName[]> {
  const sandbox = await startSandbox({ scenario });
  const config = loadSettings(sandbox.settings);
  const engine = createProbeEngine(config);
  const reporter = createAvailabilityReporter({
    connectionString: sandbox.settings.APPLICATIONINSIGHTS_CONNECTION_STRING!,
    runLocation: "sandbox",
    trustedCaPem: sandbox.caPem,
  });
  try {
    for (let i = 0; i < runs; i++) {
      const outcome = await reporter.report(await engine.run({ trigger: "timer" }));
      expect(outcome.notAccepted).toEqual([]);
    }
    const rows = sandbox.ingestion.availability().map((envelope) => rowFromAvailabilityEnvelope(envelope));
    expect(rows.length).toBeGreaterThan(0);
    return firedRules(rows, Date.now());
  } finally {
    await reporter.shutdown();
    await engine.close();
    await sandbox.close();
  }
}

describe("alert rules on sandbox results", () => {
  afterAll(() => undefined);

  it("stay quiet for a healthy gateway", async () => {
    expect(await alertsFor("healthy", 2)).toEqual([]);
  });

  it("fire the security rule, and only it, for a fail-open gateway", async () => {
    expect(await alertsFor("fail-open", 1)).toEqual(["gateway-security-regression"]);
  });

  it("fire the security rule when any tenant app gets in (assignment not required)", async () => {
    expect(await alertsFor("assignment-not-required", 1)).toContain("gateway-security-regression");
  });

  it("fire api-down after two failed runs of a backend error, without the security rule", async () => {
    const fired = await alertsFor("backend-error", 2);
    expect(fired).toContain("api-down");
    expect(fired).not.toContain("gateway-security-regression");
  });

  it("fire the token-endpoint rule (and api-down) for an invalid client secret", async () => {
    const fired = await alertsFor("invalid-secret", 2);
    expect(fired).toContain("token-endpoint");
    expect(fired).toContain("api-down");
  });
});
