import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { runCli } from "../../src/cli/cli.js";
import type { CliIo } from "../../src/cli/io.js";
import { createProbeEngine } from "../../src/core/probes/engine.js";
import type { ProbeName } from "../../src/probe-matrix/names.js";
import type { ProbeResult, RunReport } from "../../src/core/results/types.js";
import { loadSettings } from "../../src/core/settings/load-settings.js";
import { ESTATE_KEY_SETTING, startSandbox, type Sandbox } from "../../src/sandbox/index.js";

// Acceptance, end to end on an APIOps-layout folder: the sandbox publishes it, the probe
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
const result = (report: RunReport, target: string, probe: ProbeName): ProbeResult =>
  of(report, target).find((r) => r.probe === probe)!;

describe("an APIOps estate on the sandbox", () => {
  it("healthy: validation at global, the role at the product (a fragment), <base /> at the operation: every probe passes", async () => {
    const report = await runEstate(ESTATE);
    for (const target of ["orders", "inventory"]) {
      // Skipped as they should be: no expired token yet, and the forecasts made once, on the first target of the gateway.
      const expectedSkip = (r: ProbeResult) =>
        r.outcome === "skipped" && (r.probe === "expired-token" || r.message.startsWith("checked once per"));
      const notPassing = of(report, target).filter((r) => r.outcome !== "pass" && !expectedSkip(r));
      expect(
        notPassing.map((r) => [r.probe, r.outcome, r.diagnosis?.cause]),
        target,
      ).toEqual([]);
    }
    // Each forecast made once for the estate: one gateway, one probe client.
    for (const probe of ["tls-certificate", "credential-expiry"] as const) {
      expect(
        report.results.filter((r) => r.probe === probe && r.outcome !== "skipped").map((r) => r.outcome),
        probe,
      ).toEqual(["pass"]);
    }
    // The one API of the folder that validates nothing is told apart, with one cause and one fix.
    expect(result(report, "status", "no-token")).toMatchObject({
      outcome: "security",
      diagnosis: { cause: "no-token-validation" },
    });
    // It needs no subscription, and the folder says so: the key-less call is expected to get in.
    expect(result(report, "status", "no-subscription-key").outcome).toBe("pass");
  });

  it("validation removed at global (and the product's fragment): security outcomes on the token probes", async () => {
    const dir = variant({
      "policy.xml": "<policies><inbound /><backend><forward-request /></backend></policies>",
      "products/partners/policy.xml": "<policies><inbound><base /></inbound></policies>",
    });
    const report = await runEstate(dir, ["token", "valid", "no-token", "forged-signature", "alg-none"]);
    expect(
      of(report, "orders")
        .filter((r) => r.outcome === "security")
        .map((r) => r.probe)
        .sort(),
    ).toEqual(["alg-none", "forged-signature", "no-token"]);
    expect(result(report, "orders", "valid").outcome).toBe("pass");
  });

  it("a validate-azure-ad-token API that does not list the probe's client: valid fails, client-not-allowed named with the file", async () => {
    const inventory = readFileSync(join(ESTATE, "apis/inventory/policy.xml"), "utf8").replace(
      "{{probe-client-id}}",
      "11111111-2222-4333-8444-555555555555",
    );
    const report = await runEstate(variant({ "apis/inventory/policy.xml": inventory }), ["token", "valid"]);
    const valid = result(report, "inventory", "valid");
    expect(valid).toMatchObject({ outcome: "fail", actualStatus: 401, diagnosis: { cause: "client-not-allowed" } });
    expect(valid.diagnosis?.evidence?.ruleSource).toMatch(/^api apis\/inventory\/policy\.xml:\d+$/);
    expect(result(report, "orders", "valid").outcome).toBe("pass");
  });

  it("a publish that drifted from the repository: config-drift, naming the artifact that promises otherwise", async () => {
    // What the gateway runs: validation removed at global and the product, and no subscription on orders.
    const published = variant({
      "policy.xml": "<policies><inbound /><backend><forward-request /></backend></policies>",
      "products/partners/policy.xml": "<policies><inbound><base /></inbound></policies>",
      "apis/orders/apiInformation.json": readFileSync(join(ESTATE, "apis/orders/apiInformation.json"), "utf8").replace(
        '"subscriptionRequired": true',
        '"subscriptionRequired": false',
      ),
    });
    const sandbox = await startSandbox({ apiops: published });
    opened.push(sandbox);
    // What the repository promises: the estate as committed, its metadata on the emulated tenant.
    const promised = variant({});
    for (const file of ["policy.xml", "policy fragments/require-role/policy.xml", "apis/inventory/policy.xml"]) {
      writeFileSync(
        join(promised, file),
        readFileSync(join(promised, file), "utf8").replaceAll(
          "https://login.microsoftonline.com/",
          `${sandbox.entra.origin}/`,
        ),
      );
    }
    const targetsFile = join(promised, "probe.targets.json");
    const ordersUrl = sandbox.apiUrls.find((u) => new URL(u).pathname.startsWith("/orders/"))!;
    writeFileSync(
      targetsFile,
      JSON.stringify({
        targets: [
          {
            name: "orders",
            url: ordersUrl,
            scope: "api://orders-api/.default",
            subscriptionKeySetting: ESTATE_KEY_SETTING,
            apiopsApi: "orders",
          },
        ],
      }),
    );
    const { APPLICATIONINSIGHTS_CONNECTION_STRING: _i, ...settings } = sandbox.settings;
    const engine = createProbeEngine(
      loadSettings({ ...settings, PROBE_TARGETS_FILE: targetsFile, PROBE_APIOPS_DIR: promised }),
    );
    try {
      const report = await engine.run({
        probes: ["token", "no-subscription-key", "invalid-subscription-key", "no-token"],
      });
      expect(result(report, "orders", "no-subscription-key").diagnosis).toMatchObject({
        cause: "config-drift",
        evidence: { artifact: join(promised, "apis", "orders", "apiInformation.json") },
      });
      expect(result(report, "orders", "no-token").diagnosis).toMatchObject({
        cause: "config-drift",
        evidence: { artifact: `${join(promised, "policy.xml")}:6` },
      });
    } finally {
      await engine.close();
    }
  });

  it("an ip-filter that does not allow the probe: ip-filtered, not an outage", async () => {
    const orders = readFileSync(join(ESTATE, "apis/orders/policy.xml"), "utf8").replace(
      "<base />",
      '<base />\n    <ip-filter action="allow"><address>203.0.113.7</address></ip-filter>',
    );
    const report = await runEstate(variant({ "apis/orders/policy.xml": orders }), ["token", "valid"]);
    expect(result(report, "orders", "valid")).toMatchObject({
      outcome: "fail",
      actualStatus: 403,
      diagnosis: { cause: "ip-filtered" },
    });
  });

  it("a rate limit the probe exceeds: rate-limited with Retry-After, not an outage", async () => {
    // Before <base />: APIM runs inbound policies in order, so a rate limit after the global
    // validate-jwt never counts the requests that check refuses; this one counts every probe.
    const orders = readFileSync(join(ESTATE, "apis/orders/policy.xml"), "utf8").replace(
      "<base />",
      '<rate-limit calls="2" renewal-period="60" />\n    <base />',
    );
    const report = await runEstate(variant({ "apis/orders/policy.xml": orders }), [
      "token",
      "valid",
      "no-token",
      "forged-signature",
      "alg-none",
    ]);
    const limited = of(report, "orders").filter((r) => r.actualStatus === 429);
    expect(limited.length).toBeGreaterThan(0);
    expect(limited.every((r) => r.diagnosis?.cause === "rate-limited")).toBe(true);
  });
});

describe("post-publish check: run --apiops DIR --changed-since REF", () => {
  function git(cwd: string, ...args: string[]): void {
    execFileSync("git", ["-c", "user.name=probe", "-c", "user.email=probe@example.invalid", ...args], {
      cwd,
      stdio: "ignore",
    });
  }

  async function runChanged(change: (dir: string) => void): Promise<{ code: number; stdout: string; stderr: string }> {
    const repo = variant({});
    git(repo, "init", "-q");
    git(repo, "add", "-A");
    git(repo, "commit", "-q", "-m", "estate");
    change(repo);
    const sandbox = await startSandbox({ apiops: repo });
    opened.push(sandbox);
    const { APPLICATIONINSIGHTS_CONNECTION_STRING: _i, ...env } = sandbox.settings;
    let stdout = "";
    let stderr = "";
    const io: CliIo = {
      env,
      cwd: repo,
      stdout: { write: (s: string) => (stdout += s) },
      stderr: { write: (s: string) => (stderr += s) },
    };
    const code = await runCli(
      [
        "run",
        "--apiops",
        ".",
        "--changed-since",
        "HEAD",
        "--probe",
        "token",
        "--probe",
        "no-token",
        "--format",
        "json",
      ],
      io,
    );
    return { code, stdout, stderr };
  }

  it("probes only the APIs whose artifacts changed", async () => {
    const { code, stdout, stderr } = await runChanged((repo) => {
      const file = join(repo, "apis/inventory/policy.xml");
      writeFileSync(
        file,
        readFileSync(file, "utf8").replace(
          "<base />",
          '<base />\n    <set-header name="X-Changed" exists-action="override"><value>1</value></set-header>',
        ),
      );
    });
    expect(stderr).toContain("changed since HEAD: probing inventory");
    expect(code).toBe(0);
    const report = JSON.parse(stdout) as RunReport;
    expect([...new Set(report.results.map((r) => r.target))]).toEqual(["inventory"]);
  });

  it("a change every API shares (the global policy) probes them all", async () => {
    const { stdout, stderr } = await runChanged((repo) => {
      writeFileSync(
        join(repo, "policy.xml"),
        readFileSync(join(repo, "policy.xml"), "utf8").replace("<inbound>", "<inbound>\n    <!-- reviewed -->"),
      );
    });
    expect(stderr).toContain("changed since HEAD: policy.xml, which every API shares");
    expect(new Set((JSON.parse(stdout) as RunReport).results.map((r) => r.target))).toEqual(
      new Set(["inventory", "orders", "status"]),
    );
  });

  it("nothing changed: nothing to probe, exit 0", async () => {
    const { code, stdout, stderr } = await runChanged(() => undefined);
    expect(code).toBe(0);
    expect(stdout).toBe("");
    expect(stderr).toContain("nothing to probe");
  });
});
