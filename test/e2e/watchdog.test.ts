import { describe, expect, it } from "vitest";
import { createProbeEngine } from "../../src/core/probes/engine.js";
import { Secret } from "../../src/core/settings/secret.js";
import { sandboxPerTest, settingsOf } from "./support.js";

const startSandbox = sandboxPerTest();

describe("the run's watchdog", () => {
  // Settings refuse such a key at start; this drives the engine past that check, as a transport
  // defect would: undici leaves the second request with an invalid header value unsettled, abort or not.
  it("a request that never settles: the run still answers, each probe error (run-budget), and close returns", async () => {
    const sandbox = await startSandbox();
    const config = settingsOf(sandbox);
    const target = config.targets[0]!;
    const broken = {
      ...config,
      targets: [{ ...target, subscriptionKey: new Secret(`${target.subscriptionKey!.reveal()}\n`) }],
    };
    const engine = createProbeEngine(broken);
    try {
      const report = await engine.run({ runBudgetMs: 3_000 });
      const unsettled = report.results.filter((r) => r.cause === "run-budget");
      expect(unsettled.length).toBeGreaterThan(0);
      for (const r of unsettled) {
        expect(r.outcome).toBe("error");
        expect(r.diagnosis?.cause).toBe("run-budget");
      }
      expect(report.results.map((r) => r.probe).sort()).toEqual([...target.probes].sort());
    } finally {
      await engine.close();
    }
  }, 30_000);
});
