import { it } from "vitest";
import { startSandbox } from "../../src/sandbox/index.js";
import { loadSettings } from "../../src/core/settings/load-settings.js";
import { createProbeEngine } from "../../src/core/probes/engine.js";

it("smoke", async () => {
  for (const scenario of ["healthy", "fail-open", "invalid-secret", "v1-token-issuer-mismatch"] as const) {
    const sb = await startSandbox({ scenario });
    try {
      const config = loadSettings(sb.settings);
      const engine = createProbeEngine(config);
      const report = await engine.run();
      console.log(scenario, report.results.map((r) => `${r.probe}:${r.outcome}:${r.actualStatus ?? ""}:${r.message}`).join("\n"));
      await engine.close();
    } finally {
      await sb.close();
    }
  }
}, 60_000);
