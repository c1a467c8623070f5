import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCli } from "../../src/cli/cli.js";
import type { CliIo } from "../../src/cli/io.js";
import { REJECTING_PROBES } from "../../src/probe-matrix/names.js";
import { loadSettings } from "../../src/core/settings/load-settings.js";
import { ESTATE_KEY_SETTING } from "../../src/sandbox/index.js";
import { independentGatewayPerTest, resultOf, runOnce, sandboxPerTest } from "./support.js";

const ESTATE = new URL("../fixtures/apiops/contoso", import.meta.url).pathname;
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
const openSandbox = sandboxPerTest();
const startGateway = independentGatewayPerTest();

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "estate-expect-"));
  dirs.push(dir);
  return dir;
}

/** The estate with the orders API taking its key in its own header, as an API's settings in APIM can. */
function estateWithRenamedKey(header: string): string {
  const dir = tempDir();
  cpSync(ESTATE, dir, { recursive: true });
  const file = join(dir, "apis", "orders", "apiInformation.json");
  const info = JSON.parse(readFileSync(file, "utf8")) as { properties: Record<string, unknown> };
  info.properties.subscriptionKeyParameterNames = { header, query: "orders-key" };
  writeFileSync(file, JSON.stringify(info, null, 2));
  return dir;
}

describe("subscription keys where the API expects them", () => {
  it("the APIOps folder names the header: the probe sends the key there and valid passes", async () => {
    const sandbox = await openSandbox({ apiops: estateWithRenamedKey("X-Orders-Key") });
    const report = await runOnce(loadSettings({ ...sandbox.settings }), {}, [
      "token",
      "valid",
      "no-subscription-key",
      "invalid-subscription-key",
    ]);
    const orders = report.results.filter((r) => r.target === "orders");
    expect(orders.map((r) => [r.probe, r.outcome])).toEqual([
      ["token", "pass"],
      ["valid", "pass"],
      ["no-subscription-key", "pass"],
      ["invalid-subscription-key", "pass"],
    ]);
  });

  it("nothing names it: the challenge's header is named in the cause; the setting then makes valid pass", async () => {
    const sandbox = await openSandbox({ apiops: estateWithRenamedKey("X-Orders-Key") });
    const single = {
      ...sandbox.settings,
      PROBE_TARGETS_FILE: undefined,
      PROBE_APIOPS_DIR: undefined,
      PROBE_API_URL: sandbox.apiUrls[0]!.replace(/\/[^/]+\/health$/, "/orders/health"),
      PROBE_API_SCOPE: "api://orders-api/.default",
      PROBE_SUBSCRIPTION_KEY: sandbox.settings[ESTATE_KEY_SETTING],
    };
    const refused = resultOf(await runOnce(loadSettings(single), {}, ["token", "valid"]), "valid");
    expect(refused).toMatchObject({
      outcome: "fail",
      actualStatus: 401,
      diagnosis: { cause: "subscription-key-header", evidence: { expectedKeyHeader: "X-Orders-Key" } },
    });
    expect(refused.diagnosis?.fix).toContain("PROBE_SUBSCRIPTION_KEY_HEADER=X-Orders-Key");
    const named = resultOf(
      await runOnce(loadSettings({ ...single, PROBE_SUBSCRIPTION_KEY_HEADER: "X-Orders-Key" }), {}, ["token", "valid"]),
      "valid",
    );
    expect(named.outcome).toBe("pass");
  });

  it("a gateway written apart from the sandbox: its challenge names the header; a target's subscriptionKeyHeader sends it there", async () => {
    const sandbox = await openSandbox({ scenario: "healthy" });
    const key = "0f1e2d3c4b5a69788796a5b4c3d2e1f0";
    const { gateway, settings: pointed } = await startGateway(sandbox, (req: IncomingMessage, res: ServerResponse) => {
      req.resume();
      if (req.headers["x-billing-key"] !== key) {
        // Custom error handling hid APIM's text; the documented challenge still names the header.
        res.writeHead(401, {
          "content-type": "application/json",
          "www-authenticate": `AzureApiManagementKey realm="https://billing.example/billing",name="X-Billing-Key",type="header"`,
        });
        res.end('{"error":"unauthorized"}');
        return;
      }
      res.writeHead(200, { "content-type": "application/json" });
      res.end("{}");
    });
    const dir = tempDir();
    const caFile = pointed.NODE_EXTRA_CA_CERTS!;
    const target = {
      name: "billing",
      url: `${gateway.origin}/billing/invoices`,
      scope: "api://orders-api/.default",
      subscriptionKeySetting: "BILLING_KEY",
      probes: ["token", "valid"],
    };
    const run = async (extra: Record<string, string>) => {
      const file = join(dir, `targets-${Object.keys(extra).length}.json`);
      writeFileSync(file, JSON.stringify({ targets: [{ ...target, ...extra }] }));
      const {
        PROBE_API_URL: _u,
        PROBE_API_METHOD: _m,
        PROBE_API_SCOPE: _s,
        PROBE_SUBSCRIPTION_KEY: _k,
        PROBE_POLICY_FILE: _p,
        ...base
      } = sandbox.settings;
      return resultOf(
        await runOnce(
          loadSettings({ ...base, PROBE_TARGETS_FILE: file, BILLING_KEY: key, NODE_EXTRA_CA_CERTS: caFile }),
        ),
        "valid",
      );
    };
    const refused = await run({});
    expect(refused).toMatchObject({
      outcome: "fail",
      diagnosis: {
        cause: "subscription-key-header",
        evidence: { expectedKeyHeader: "X-Billing-Key", sentKeyHeader: "Ocp-Apim-Subscription-Key" },
      },
    });
    expect(JSON.stringify(refused)).not.toContain(key);
    expect((await run({ subscriptionKeyHeader: "X-Billing-Key" })).outcome).toBe("pass");
  });
});

describe("an API open by design is accepted only explicitly", () => {
  it("acceptOpen on the target: every rejecting token probe let in is a pass that says accepted-open, with the reason", async () => {
    const sandbox = await openSandbox({ scenario: "fail-open" });
    const dir = tempDir();
    const file = join(dir, "targets.json");
    const reason = "public status endpoint, no data";
    const url = sandbox.settings.PROBE_API_URL!;
    writeFileSync(
      file,
      JSON.stringify({
        targets: [
          {
            name: "status",
            url,
            scope: "api://orders-api/.default",
            subscriptionKeySetting: "STATUS_KEY",
            acceptOpen: reason,
          },
        ],
      }),
    );
    const {
      PROBE_API_URL: _u,
      PROBE_API_METHOD: _m,
      PROBE_API_SCOPE: _s,
      PROBE_SUBSCRIPTION_KEY: key,
      PROBE_POLICY_FILE: _p,
      ...base
    } = sandbox.settings;
    const report = await runOnce(loadSettings({ ...base, PROBE_TARGETS_FILE: file, STATUS_KEY: key }));
    for (const probe of ["no-token", "wrong-audience", "forged-signature", "alg-none"] as const) {
      expect(resultOf(report, probe), probe).toMatchObject({
        outcome: "pass",
        actualStatus: 200,
        diagnosis: { cause: "accepted-open", evidence: { acceptOpenReason: reason } },
      });
    }
    // Without it, the same gateway is a security finding on every one of them.
    const open = await runOnce(loadSettings({ ...sandbox.settings }), {}, ["token", ...REJECTING_PROBES]);
    for (const probe of ["no-token", "wrong-audience", "forged-signature", "alg-none"] as const)
      expect(resultOf(open, probe).outcome, probe).toBe("security");
  });

  it("coverage lists accepted-open APIs apart and does not fail on them", async () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, "targets.json"),
      JSON.stringify({
        targets: [
          {
            name: "status",
            url: "https://contoso.azure-api.net/status/ping",
            apiopsApi: "status",
            acceptOpen: "public health check",
          },
        ],
      }),
    );
    const out = { stdout: "", stderr: "" };
    const io: CliIo = {
      env: {},
      cwd: dir,
      stdout: { write: (s: string) => (out.stdout += s) },
      stderr: { write: (s: string) => (out.stderr += s) },
    };
    const code = await runCli(["coverage", "--apiops", ESTATE, "--targets", "targets.json"], io);
    expect(out.stdout).toMatch(/accepted as open by design[^\n]*\nstatus GET \/ping: public health check/);
    expect(out.stdout).toMatch(/0 without token validation, 1 accepted as open/);
    expect(code).toBe(0);
  });
});

describe("every HTTP API of the folder becomes a target, with or without an audience", () => {
  it("no scope anywhere: key probes, a key-only valid and no-token run; the token probes are skipped naming what gives one", async () => {
    const sandbox = await openSandbox({ apiops: ESTATE });
    const { PROBE_TARGETS_FILE: _t, [ESTATE_KEY_SETTING]: key, ...base } = sandbox.settings;
    const config = loadSettings({
      ...base,
      PROBE_GATEWAY_URL: new URL(sandbox.apiUrls[0]!).origin,
      PROBE_SUBSCRIPTION_KEY: key,
    });
    const status = config.targets.find((t) => t.name === "status")!;
    expect(status.scope).toBeUndefined();
    const report = await runOnce(config);
    const of = (probe: string) => report.results.find((r) => r.target === "status" && r.probe === probe)!;
    for (const probe of [
      "token",
      "wrong-audience",
      "expired-token",
      "forged-signature",
      "alg-none",
      "unassigned-client",
    ]) {
      expect(of(probe), probe).toMatchObject({ outcome: "skipped", cause: "scope-unknown" });
      expect(of(probe).message, probe).toMatch(/PROBE_API_SCOPE/);
    }
    expect(of("valid")).toMatchObject({ outcome: "pass" });
    expect(of("valid").message).toMatch(/key only/);
    // The folder says the API validates no token: a request without one gets in, and says so.
    expect(of("no-token")).toMatchObject({ outcome: "security", actualStatus: 200 });
  });
});
