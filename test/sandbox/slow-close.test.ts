import { expect, it } from "vitest";
import { createProbeEngine } from "../../src/core/probes/engine.js";
import { loadSettings } from "../../src/core/settings/load-settings.js";
import { startSandbox } from "../../src/sandbox/index.js";

it("closes at once while the gateway still waits on a slow backend", async () => {
  const sandbox = await startSandbox({ scenario: "slow-backend" });
  const engine = createProbeEngine(loadSettings(sandbox.settings));
  // The probe gives up at its 2 s deadline; the gateway's own call to the 30 s backend goes on.
  const report = await engine.run({ probes: ["valid"] });
  expect(report.results[0]).toMatchObject({ probe: "valid", outcome: "error" });
  await engine.close();
  await sandbox.close();
  // An order, not a speed: closed before the backend's 30 s wait had ended. The backend records a
  // wait once it has ended; a close that waited for the pending answer would find one here.
  expect(sandbox.gateway.takeBackendDelays()).toEqual([]);
});
