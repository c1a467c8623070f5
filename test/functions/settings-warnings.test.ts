import { describe, expect, it, vi } from "vitest";
import { createProbeRuntime } from "../../src/functions/support/probe-runtime.js";

const ENV = {
  PROBE_TENANT_ID: "7d3c2f4e-1a6b-4c59-9e2d-5b8f0a1c3e47",
  PROBE_CLIENT_ID: "c2a8e5f1-7b39-4d06-8e4a-1f5c9b3d7a62",
  PROBE_CLIENT_SECRET: "canary-secret-value",
  PROBE_API_URL: "https://contoso.azure-api.net/orders/health",
  PROBE_API_SCOPE: "api://orders-api/.default",
};

describe("the worker's settings", () => {
  it("a misspelt PROBE_* app setting is a warning in the host's log, naming the closest known one; never a value", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
    try {
      const runtime = createProbeRuntime({ ...ENV, PROBE_CERT_WARN_DAY: "60" });
      await runtime.close();
      const logged = warn.mock.calls.map((c) => c.map(String).join(" ")).join("\n");
      expect(logged).toContain(
        "PROBE_CERT_WARN_DAY is not read by the probe and is ignored: did you mean PROBE_CERT_WARN_DAYS?",
      );
      expect(logged).not.toContain("canary");
    } finally {
      warn.mockRestore();
    }
  });
});
