import { cpSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { PolicyError } from "../../src/core/errors.js";
import { createProbeEngine } from "../../src/core/probes/engine.js";
import type { RunReport } from "../../src/core/results/types.js";
import { loadSettings } from "../../src/core/settings/load-settings.js";
import { ordersApiPolicyXml, startSandbox } from "../../src/sandbox/index.js";
import { ORDERS_API, SANDBOX_TENANT_ID } from "../../src/sandbox/identities.js";

async function runWithPolicy(policyXml: string, namedValues?: Record<string, string>): Promise<RunReport> {
  const sandbox = await startSandbox({ policyXml, ...(namedValues ? { namedValues } : {}) });
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

  it("takes a secret named value's value when given one (--named-value), as XML text, never into the probe's copy", async () => {
    const policyXml = ordersApiPolicyXml().replace(
      "<inbound>",
      '<inbound><set-header name="x-backend-key" exists-action="override"><value>{{backend-key}}</value></set-header>',
    );
    expect(policyXml).toContain("{{backend-key}}");
    const report = await runWithPolicy(policyXml, { "backend-key": 'k&y<"1' });
    expect(report.results.filter((r) => r.outcome !== "pass" && r.outcome !== "skipped")).toEqual([]);
  });

  it("an APIOps folder whose policy uses a Key Vault named value: refused naming it, started once given a value", async () => {
    const folder = mkdtempSync(join(tmpdir(), "apiops-secret-nv-"));
    cpSync("test/fixtures/apiops/contoso", folder, { recursive: true });
    // backend-api-key is a secret named value in the folder: exported without its value.
    writeFileSync(
      join(folder, "apis/status/policy.xml"),
      '<policies><inbound><set-header name="x-functions-key" exists-action="override"><value>{{backend-api-key}}</value></set-header></inbound><backend><forward-request /></backend></policies>',
    );
    await expect(startSandbox({ apiops: folder })).rejects.toSatisfy(
      (error: unknown) => error instanceof PolicyError && error.namedValue === "backend-api-key",
    );
    const stateDir = mkdtempSync(join(tmpdir(), "apiops-secret-state-"));
    const sandbox = await startSandbox({
      apiops: folder,
      stateDir,
      namedValues: { "backend-api-key": "given-stand-in-value" },
    });
    try {
      expect(sandbox.settings.PROBE_APIOPS_DIR).toBeDefined();
      const copy = readdirSync(sandbox.settings.PROBE_APIOPS_DIR!, { recursive: true, withFileTypes: true })
        .filter((e) => e.isFile())
        .map((e) => readFileSync(join(e.parentPath, e.name), "utf8"));
      expect(copy.some((text) => text.includes("given-stand-in-value"))).toBe(false);
    } finally {
      await sandbox.close();
    }
  });
});
