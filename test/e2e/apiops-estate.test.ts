import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { createProbeEngine } from "../../src/core/probes/engine.js";
import type { ProbeName } from "../../src/core/probes/names.js";
import type { ProbeResult, RunReport } from "../../src/core/results/types.js";
import { loadSettings } from "../../src/core/settings/load-settings.js";
import { startSandbox, type Sandbox } from "../../src/sandbox/index.js";

// Issue 12's acceptance, end to end on an APIOps-layout folder: the sandbox publishes it, the probe
// reads the same folder (PROBE_APIOPS_DIR) for its preflight, and the verdicts follow the effective
// policies: validation at global scope, required claims at a product, an operation that only says
// <base />.

const ESTATE = new URL("../fixtures/apiops/contoso", import.meta.url).pathname;
const opened: Sandbox[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close()));
});
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A copy of the estate with some files changed, as a commit to the repository would change them. */
function variant(changes: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "estate-"));
  dirs.push(dir);
  cpSync(ESTATE, dir, { recursive: true });
  for (const [file, content] of Object.entries(changes)) writeFileSync(join(dir, file), content);
  return dir;
}

async function runEstate(dir: string, probes?: readonly ProbeName[]): Promise<RunReport> {
  const sandbox = await startSandbox({ apiops: dir });
  opened.push(sandbox);
  const { APPLICATIONINSIGHTS_CONNECTION_STRING: _i, ...settings } = sandbox.settings;
  const engine = createProbeEngine(loadSettings(settings));
  try {
    return await engine.run(probes ? { probes } : {});
  } finally {
    await engine.close();
  }
}

const of = (report: RunReport, target: string) => report.results.filter((r) => r.target === target);
const result = (report: RunReport, target: string, probe: ProbeName): ProbeResult => of(report, target).find((r) => r.probe === probe)!;

describe("an APIOps estate on the sandbox", () => {
  it("healthy: validation at global, the role at the product (a fragment), <base /> at the operation: every probe passes", async () => {
    const report = await runEstate(ESTATE);
    for (const target of ["orders", "inventory"]) {
      const notPassing = of(report, target).filter((r) => r.outcome !== "pass" && !(r.probe === "expired-token" && r.outcome === "skipped"));
      expect(notPassing.map((r) => [r.probe, r.outcome, r.diagnosis?.cause]), target).toEqual([]);
    }
    // The one API of the folder that validates nothing is told apart, with one cause and one fix.
    expect(result(report, "status", "no-token")).toMatchObject({ outcome: "security", diagnosis: { cause: "no-token-validation" } });
    // It needs no subscription, and the folder says so: the key-less call is expected to get in.
    expect(result(report, "status", "no-subscription-key").outcome).toBe("pass");
  });

  it("validation removed at global (and the product's fragment): security outcomes on the token probes", async () => {
    const dir = variant({
      "policy.xml": "<policies><inbound /><backend><forward-request /></backend></policies>",
      "products/partners/policy.xml": "<policies><inbound><base /></inbound></policies>",
    });
    const report = await runEstate(dir, ["token", "valid", "no-token", "forged-signature", "alg-none"]);
    expect(of(report, "orders").filter((r) => r.outcome === "security").map((r) => r.probe).sort()).toEqual(["alg-none", "forged-signature", "no-token"]);
    expect(result(report, "orders", "valid").outcome).toBe("pass");
  });

  it("a validate-azure-ad-token API that does not list the probe's client: valid fails, client-not-allowed named with the file", async () => {
    const inventory = readFileSync(join(ESTATE, "apis/inventory/policy.xml"), "utf8").replace("{{probe-client-id}}", "11111111-2222-4333-8444-555555555555");
    const report = await runEstate(variant({ "apis/inventory/policy.xml": inventory }), ["token", "valid"]);
    const valid = result(report, "inventory", "valid");
    expect(valid).toMatchObject({ outcome: "fail", actualStatus: 401, diagnosis: { cause: "client-not-allowed" } });
    expect(valid.diagnosis?.evidence?.ruleSource).toMatch(/^api apis\/inventory\/policy\.xml:\d+$/);
    expect(result(report, "orders", "valid").outcome).toBe("pass");
  });

  it("an ip-filter that does not allow the probe: ip-filtered, not an outage", async () => {
    const orders = readFileSync(join(ESTATE, "apis/orders/policy.xml"), "utf8").replace(
      "<base />",
      '<base />\n    <ip-filter action="allow"><address>203.0.113.7</address></ip-filter>',
    );
    const report = await runEstate(variant({ "apis/orders/policy.xml": orders }), ["token", "valid"]);
    expect(result(report, "orders", "valid")).toMatchObject({ outcome: "fail", actualStatus: 403, diagnosis: { cause: "ip-filtered" } });
  });

  it("a rate limit the probe exceeds: rate-limited with Retry-After, not an outage", async () => {
    const orders = readFileSync(join(ESTATE, "apis/orders/policy.xml"), "utf8").replace("<base />", '<base />\n    <rate-limit calls="2" renewal-period="60" />');
    const report = await runEstate(variant({ "apis/orders/policy.xml": orders }), ["token", "valid", "no-token", "forged-signature", "alg-none"]);
    const limited = of(report, "orders").filter((r) => r.actualStatus === 429);
    expect(limited.length).toBeGreaterThan(0);
    expect(limited.every((r) => r.diagnosis?.cause === "rate-limited")).toBe(true);
  });
});
