import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { PolicyError } from "../../src/core/errors.js";
import { createProbeEngine } from "../../src/core/probes/engine.js";
import type { RunReport } from "../../src/core/results/types.js";
import { loadSettings } from "../../src/core/settings/load-settings.js";
import { ordersApiPolicyXml, startSandbox } from "../../src/sandbox/index.js";
import { ORDERS_API, SANDBOX_TENANT_ID } from "../../src/sandbox/identities.js";

async function runWithPolicy(policyXml: string): Promise<RunReport> {
  const sandbox = await startSandbox({ policyXml });
  const engine = createProbeEngine(loadSettings(sandbox.settings));
  try {
    return await engine.run();
  } finally {
    await engine.close();
    await sandbox.close();
  }
}

describe("the sandbox with your own policy", () => {
  it("enforces it, with the sandbox's named values filled in", async () => {
    const withNamedValues = ordersApiPolicyXml()
      .replaceAll(SANDBOX_TENANT_ID, "{{tenant-id}}")
      .replaceAll(ORDERS_API.clientId, "{{api-client-id}}");
    expect(withNamedValues).toContain("{{tenant-id}}");
    const report = await runWithPolicy(withNamedValues);
    expect(report.results.filter((r) => r.outcome !== "pass" && r.outcome !== "skipped")).toEqual([]);
  });

  it("shows a policy reading another header as missing-bearer-scheme on valid, end to end", async () => {
    const report = await runWithPolicy(readFileSync("test/fixtures/policies/custom-header.xml", "utf8"));
    const valid = report.results.find((r) => r.probe === "valid");
    expect(valid).toMatchObject({ outcome: "fail", actualStatus: 401, apimMessage: "JWT not present." });
    expect(valid?.diagnosis?.cause).toBe("missing-bearer-scheme");
  });

  it("refuses a named value it does not have, naming it", async () => {
    await expect(
      startSandbox({ policyXml: ordersApiPolicyXml().replace(SANDBOX_TENANT_ID, "{{my-tenant}}") }),
    ).rejects.toSatisfy((error: unknown) => error instanceof PolicyError && error.message.includes("my-tenant"));
  });
});
