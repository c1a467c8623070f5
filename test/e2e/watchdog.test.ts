import { createServer, type AddressInfo, type Socket } from "node:net";
import { describe, expect, it } from "vitest";
import { createProbeEngine } from "../../src/core/probes/engine.js";
import { Secret } from "../../src/core/settings/secret.js";
import { resultOf, runOnce, sandboxPerTest, settingsOf } from "./support.js";

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

  it("a gateway that accepts TCP and never completes TLS: its probes time out at their own deadline, the others keep their verdicts", async () => {
    const sandbox = await startSandbox();
    const sockets: Socket[] = [];
    const silent = createServer((socket) => void sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    try {
      const config = settingsOf(sandbox, {
        PROBE_API_URL: `https://127.0.0.1:${(silent.address() as AddressInfo).port}/orders/health`,
        PROBE_POLICY_FILE: undefined,
        PROBE_TIMEOUT_MS: "1000",
        PROBE_RUN_BUDGET_MS: "20000",
      });
      const report = await runOnce(config);
      // Probes that never reach the gateway are not lost with it.
      for (const probe of ["token", "unassigned-client", "credential-expiry"] as const)
        expect(resultOf(report, probe).outcome, probe).toBe("pass");
      for (const probe of ["valid", "no-token", "no-subscription-key", "forged-signature"] as const)
        expect(resultOf(report, probe), probe).toMatchObject({ outcome: "error", cause: "timeout" });
      expect(report.results.filter((r) => r.cause === "run-budget")).toEqual([]);
    } finally {
      for (const socket of sockets) socket.destroy();
      silent.close();
    }
  }, 60_000);
});
