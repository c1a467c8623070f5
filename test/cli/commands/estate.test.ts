import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../../../src/cli/cli.js";
import type { CliIo } from "../../../src/cli/io.js";
import { loadSettings } from "../../../src/core/settings/load-settings.js";

// The whole estate from the APIOps folder users already keep.

const ESTATE = new URL("../../fixtures/apiops/contoso", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "estate-cli-"));
writeFileSync(
  join(dir, "nv.json"),
  JSON.stringify({
    "tenant-id": "7d3c2f4e-1a6b-4c59-9e2d-5b8f0a1c3e47",
    "api-client-id": "3f9a2c71-5d84-4b0e-a6c3-8e1f7b2d9045",
    "api-app-id-uri": "api://orders-api",
    "api-role": "Api.Access",
  }),
);

async function cli(argv: string[]) {
  const out = { stdout: "", stderr: "" };
  const io: CliIo = {
    env: {},
    cwd: dir,
    stdout: { write: (s: string) => (out.stdout += s) },
    stderr: { write: (s: string) => (out.stderr += s) },
  };
  return { code: await runCli(argv, io), ...out };
}

interface Target {
  name: string;
  url: string;
  scope: string;
  expectedStatuses?: Record<string, number[]>;
}

describe("apim-smoke targets --apiops", () => {
  it("one target per HTTP API whose operation the folder gives, with a scope where it gives one; the rest said on stderr, one line each", async () => {
    const { code, stdout, stderr } = await cli([
      "targets",
      "--apiops",
      ESTATE,
      "--gateway",
      "https://contoso.azure-api.net",
    ]);
    expect(code).toBe(0);
    const { targets } = JSON.parse(stdout) as { targets: Target[] };
    expect(targets).toEqual([
      {
        name: "orders",
        url: "https://contoso.azure-api.net/orders/health",
        method: "GET",
        scope: "api://orders-api/.default",
        subscriptionKeySetting: "APIM_SUBSCRIPTION_KEY",
        apiopsApi: "orders",
      },
      // No audience in its policy: a target all the same; its token probes skip until a scope is given.
      {
        name: "status",
        url: "https://contoso.azure-api.net/status/ping",
        method: "GET",
        subscriptionKeySetting: "APIM_SUBSCRIPTION_KEY",
        apiopsApi: "status",
        expectedStatuses: { "no-subscription-key": [200, 201, 202, 203, 204, 205, 206] },
      },
    ]);
    const notes = stderr.trim().split("\n");
    expect(notes).toEqual([
      expect.stringMatching(
        /^note: api inventory: no GET operation without path parameters in apis\/inventory\/specification\.json/,
      ),
      "note: api legacy-billing: a soap API; only HTTP APIs are probed",
      expect.stringMatching(
        /^note: api status: no audience in its effective policy to derive the scope from; its token probes will be skipped until --scope/,
      ),
      expect.stringMatching(
        /^note: api status: its effective policy validates no token; the token probes expect a refusal and report security until it does\. If the API is open by design, add "acceptOpen"/,
      ),
    ]);
  });

  it("writes no expected 2xx for a rejecting token probe, whatever the folder says; exits 1 when no target can be written", async () => {
    const { stdout } = await cli([
      "targets",
      "--apiops",
      ESTATE,
      "--gateway",
      "https://contoso.azure-api.net",
      "--scope",
      "api://orders-api/.default",
    ]);
    for (const t of (JSON.parse(stdout) as { targets: Target[] }).targets) {
      for (const probe of [
        "no-token",
        "wrong-audience",
        "expired-token",
        "forged-signature",
        "alg-none",
        "unassigned-client",
        "invalid-subscription-key",
      ]) {
        expect(t.expectedStatuses?.[probe], `${t.name} ${probe}`).toBeUndefined();
      }
    }
    const { mkdirSync } = await import("node:fs");
    const empty = join(dir, "empty-estate");
    mkdirSync(join(empty, "apis"), { recursive: true });
    const none = await cli(["targets", "--apiops", empty, "--gateway", "https://contoso.azure-api.net"]);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain("no target written");
  });

  it("--scope and --operation fill the gaps; expected statuses follow the folder; the file loads as a targets file", async () => {
    const out = join(dir, "estate.targets.json");
    const { code } = await cli([
      "targets",
      "--apiops",
      ESTATE,
      "--gateway",
      "https://contoso.azure-api.net",
      "--scope",
      "api://orders-api/.default",
      "--operation",
      "inventory=/items/widget-1",
      "--out",
      out,
    ]);
    expect(code).toBe(0);
    const { targets } = JSON.parse(readFileSync(out, "utf8")) as { targets: Target[] };
    expect(targets.map((t) => t.name)).toEqual(["inventory", "orders", "status"]);
    expect(targets[0]!.url).toBe("https://contoso.azure-api.net/inventory/items/widget-1");
    // status: no subscription, as the folder says (2xx expected without a key); no token validation,
    // which is never expected: its token probes expect a refusal until acceptOpen says otherwise.
    expect(targets[2]!.expectedStatuses).toEqual({ "no-subscription-key": [200, 201, 202, 203, 204, 205, 206] });
    const config = loadSettings(
      {
        PROBE_TENANT_ID: "7d3c2f4e-1a6b-4c59-9e2d-5b8f0a1c3e47",
        PROBE_CLIENT_ID: "c2a8e5f1-7b39-4d06-8e4a-1f5c9b3d7a62",
        PROBE_CLIENT_SECRET: "s",
        PROBE_TARGETS_FILE: out,
        APIM_SUBSCRIPTION_KEY: "k",
      },
      { cwd: dir },
    );
    expect(config.targets).toHaveLength(3);
  });

  it("refuses a gateway that is not https, naming the option", async () => {
    const { code, stderr } = await cli(["targets", "--apiops", ESTATE, "--gateway", "http://contoso.azure-api.net"]);
    expect(code).toBe(2);
    expect(stderr).toContain("--gateway");
  });
});

describe("apim-smoke coverage --apiops", () => {
  it("names where each operation's token is validated, and exits 1 for the API reachable without one", async () => {
    writeFileSync(
      join(dir, "targets.json"),
      JSON.stringify({
        targets: [{ name: "orders", url: "https://contoso.azure-api.net/orders/health", apiopsApi: "orders" }],
      }),
    );
    const { code, stdout } = await cli([
      "coverage",
      "--apiops",
      ESTATE,
      "--targets",
      "targets.json",
      "--format",
      "json",
    ]);
    expect(code).toBe(1);
    const { rows } = JSON.parse(stdout) as {
      rows: {
        api: string;
        operation: string;
        probed: boolean;
        tokenValidation: string[];
        subscriptionRequired: boolean;
        rateLimited: boolean;
      }[];
    };
    const health = rows.find((r) => r.operation === "GET /health")!;
    expect(health).toMatchObject({ api: "orders", probed: true, subscriptionRequired: true });
    expect(health.tokenValidation).toEqual([
      "global policy.xml:6",
      `fragment require-role ${join("policy fragments", "require-role", "policy.xml")}:2`,
    ]);
    expect(rows.find((r) => r.api === "status")).toMatchObject({
      tokenValidation: [],
      subscriptionRequired: false,
      rateLimited: true,
      probed: false,
    });
  });
});

describe("PROBE_APIOPS_DIR with PROBE_GATEWAY_URL: the estate straight from the deployed folder", () => {
  it("every probeable API becomes a target with its effective policy; a gateway URL alone is refused", () => {
    const base = {
      PROBE_TENANT_ID: "7d3c2f4e-1a6b-4c59-9e2d-5b8f0a1c3e47",
      PROBE_CLIENT_ID: "c2a8e5f1-7b39-4d06-8e4a-1f5c9b3d7a62",
      PROBE_CLIENT_SECRET: "s",
    };
    const config = loadSettings(
      {
        ...base,
        PROBE_APIOPS_DIR: ESTATE,
        PROBE_GATEWAY_URL: "https://contoso.azure-api.net",
        PROBE_API_SCOPE: "api://orders-api/.default",
        PROBE_SUBSCRIPTION_KEY: "k",
      },
      { cwd: dir },
    );
    expect(config.targets.map((t) => [t.name, t.url, t.apiops?.api])).toEqual([
      ["orders", "https://contoso.azure-api.net/orders/health", "orders"],
      ["status", "https://contoso.azure-api.net/status/ping", "status"],
    ]);
    expect(config.targets[1]!.expectedStatuses["no-token"]).toEqual([401]);
    expect(() =>
      loadSettings(
        {
          ...base,
          PROBE_API_URL: "https://contoso.azure-api.net/x",
          PROBE_API_SCOPE: "api://x/.default",
          PROBE_GATEWAY_URL: "https://contoso.azure-api.net",
        },
        { cwd: dir },
      ),
    ).toThrow(/PROBE_GATEWAY_URL/);
  });
});

describe("versioned APIs and the apiops-cli operations layout", () => {
  it("a Segment-versioned API at its versioned path; a Query one with its parameter; operations from operationInformation.json", async () => {
    const { cpSync, mkdirSync, rmSync } = await import("node:fs");
    const estate = join(dir, "versioned");
    rmSync(estate, { recursive: true, force: true });
    cpSync(ESTATE, estate, { recursive: true });
    for (const [name, scheme] of [
      ["orders-v", "Segment"],
      ["orders-q", "Query"],
    ] as const) {
      mkdirSync(join(estate, "apis", name, "operations", "get-health"), { recursive: true });
      writeFileSync(
        join(estate, "apis", name, "apiInformation.json"),
        JSON.stringify({
          properties: { path: name, apiVersion: "v2", apiVersionSetId: `/apiVersionSets/${name}-set`, isCurrent: true },
        }),
      );
      writeFileSync(
        join(estate, "apis", name, "policy.xml"),
        readFileSync(join(estate, "apis", "orders", "policy.xml"), "utf8"),
      );
      writeFileSync(
        join(estate, "apis", name, "operations", "get-health", "operationInformation.json"),
        JSON.stringify({ properties: { method: "GET", urlTemplate: "/health" } }),
      );
      mkdirSync(join(estate, "version sets", `${name}-set`), { recursive: true });
      writeFileSync(
        join(estate, "version sets", `${name}-set`, "versionSetInformation.json"),
        JSON.stringify({ properties: { versioningScheme: scheme, versionQueryName: "api-version" } }),
      );
    }
    const { stdout } = await cli(["targets", "--apiops", estate, "--gateway", "https://contoso.azure-api.net"]);
    const urls = Object.fromEntries((JSON.parse(stdout) as { targets: Target[] }).targets.map((t) => [t.name, t.url]));
    expect(urls["orders-v"]).toBe("https://contoso.azure-api.net/orders-v/v2/health");
    expect(urls["orders-q"]).toBe("https://contoso.azure-api.net/orders-q/health?api-version=v2");
  });
});

describe("policy check on an ordered list of scope files", () => {
  it("--scope global=... --scope api=... --fragment id=...: the effective policy, each finding with its file", async () => {
    const { code, stdout } = await cli([
      "policy",
      "check",
      "--scope",
      `global=${join(ESTATE, "policy.xml")}`,
      "--scope",
      `product=${join(ESTATE, "products/partners/policy.xml")}`,
      "--scope",
      `api=${join(ESTATE, "apis/orders/policy.xml")}`,
      "--fragment",
      `require-role=${join(ESTATE, "policy fragments/require-role/policy.xml")}`,
      "--named-values",
      join(dir, "nv.json"),
    ]);
    expect(stdout).toContain("no findings");
    expect(code).toBe(0);
  });
});

describe("the apiops-cli layout gives the same estate", () => {
  it("targets and coverage read namedValues/, policyFragments/ and products/<p>/apis.json alike", async () => {
    const { cpSync, renameSync, rmSync } = await import("node:fs");
    const cliLayout = join(dir, "cli-layout");
    rmSync(cliLayout, { recursive: true, force: true });
    cpSync(ESTATE, cliLayout, { recursive: true });
    renameSync(join(cliLayout, "named values"), join(cliLayout, "namedValues"));
    renameSync(join(cliLayout, "policy fragments"), join(cliLayout, "policyFragments"));
    rmSync(join(cliLayout, "products", "partners", "apis"), { recursive: true });
    writeFileSync(
      join(cliLayout, "products", "partners", "apis.json"),
      JSON.stringify([{ name: "orders" }, { name: "inventory" }]),
    );
    const extractor = await cli([
      "targets",
      "--apiops",
      ESTATE,
      "--gateway",
      "https://contoso.azure-api.net",
      "--scope",
      "api://orders-api/.default",
    ]);
    const apiopsCli = await cli([
      "targets",
      "--apiops",
      cliLayout,
      "--gateway",
      "https://contoso.azure-api.net",
      "--scope",
      "api://orders-api/.default",
    ]);
    expect(apiopsCli.stdout).toBe(extractor.stdout);
    const coverage = await cli(["coverage", "--apiops", cliLayout, "--format", "json"]);
    expect(coverage.code).toBe(1);
    const rows = (JSON.parse(coverage.stdout) as { rows: { api: string; tokenValidation: string[] }[] }).rows;
    expect(rows.filter((r) => r.tokenValidation.length === 0).map((r) => r.api)).toEqual(["status"]);
    expect(rows.find((r) => r.api === "orders")!.tokenValidation[1]).toMatch(
      /^fragment require-role policyFragments\/require-role\/policy\.xml:2$/,
    );
  });
});

describe("every HTTP API of a folder in the APIOps sample's shape becomes a target", () => {
  it("a WADL-described API at its first GET; a versioned API whose path already ends in its version gets the segment once", async () => {
    const { mkdirSync } = await import("node:fs");
    const root = join(dir, "sample-shape");
    const api = (name: string, info: Record<string, unknown>) => {
      mkdirSync(join(root, "apis", name), { recursive: true });
      writeFileSync(
        join(root, "apis", name, "apiInformation.json"),
        JSON.stringify({ properties: { displayName: name, protocols: ["https"], ...info } }),
      );
      return join(root, "apis", name);
    };
    const wadl = api("catalog-wadl", { path: "catalog", subscriptionRequired: true });
    writeFileSync(
      join(wadl, "specification.wadl"),
      `<?xml version="1.0"?>
<application xmlns="http://wadl.dev.java.net/2009/02">
  <resources base="https://catalog.example">
    <resource path="/items/{id}"><method name="GET" id="get-item"/></resource>
    <resource path="/health"><method name="POST" id="poke"/><method name="GET" id="get-health"/></resource>
  </resources>
</application>`,
    );
    const v1 = api("catalog-v1", {
      path: "catalog-versioned/v1",
      apiVersion: "v1",
      apiVersionSetId: "/apiVersionSets/catalog-set",
    });
    writeFileSync(
      join(v1, "specification.yaml"),
      "openapi: 3.0.1\ninfo: { title: c, version: v1 }\npaths:\n  /version:\n    get: { operationId: get-version }\n",
    );
    mkdirSync(join(root, "version sets", "catalog-set"), { recursive: true });
    writeFileSync(
      join(root, "version sets", "catalog-set", "versionSetInformation.json"),
      JSON.stringify({ properties: { versioningScheme: "Segment" } }),
    );
    const { code, stdout } = await cli(["targets", "--apiops", root, "--gateway", "https://contoso.azure-api.net"]);
    expect(code).toBe(0);
    const urls = Object.fromEntries((JSON.parse(stdout) as { targets: Target[] }).targets.map((t) => [t.name, t.url]));
    expect(urls).toEqual({
      "catalog-wadl": "https://contoso.azure-api.net/catalog/health",
      "catalog-v1": "https://contoso.azure-api.net/catalog-versioned/v1/version",
    });
  });
});

describe("demo --apiops on a folder whose policy uses a Key Vault named value", () => {
  it("exits 2 naming the named value and how to give it (--named-value), not an internal error code", async () => {
    const folder = join(dir, "kv-estate");
    cpSync(ESTATE, folder, { recursive: true });
    writeFileSync(
      join(folder, "apis/status/policy.xml"),
      '<policies><inbound><set-header name="x-functions-key" exists-action="override"><value>{{backend-api-key}}</value></set-header></inbound><backend><forward-request /></backend></policies>',
    );
    const refused = await cli(["demo", "--apiops", folder]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("{{backend-api-key}}");
    expect(refused.stderr).toContain("--named-value backend-api-key=VALUE");
    expect(refused.stderr).not.toContain("APIM_SMOKE_");
  });
});

describe("targets --apiops: why a scope could not be derived", () => {
  it("names only the named values that stand for an audience, not a backend key elsewhere in the policy", async () => {
    const folder = join(dir, "scope-notes");
    cpSync(ESTATE, folder, { recursive: true });
    // status validates no token, and sets a backend key from a secret named value.
    writeFileSync(
      join(folder, "apis/status/policy.xml"),
      '<policies><inbound><set-header name="x-functions-key" exists-action="override"><value>{{backend-api-key}}</value></set-header></inbound><backend><forward-request /></backend></policies>',
    );
    let { stderr } = await cli(["targets", "--apiops", folder, "--gateway", "https://contoso.azure-api.net"]);
    expect(stderr).toMatch(
      /^note: api status: no audience in its effective policy to derive the scope from; its token/m,
    );
    // Its audience is a secret named value: that one is named.
    writeFileSync(
      join(folder, "apis/status/policy.xml"),
      '<policies><inbound><validate-jwt header-name="Authorization"><openid-config url="https://login.microsoftonline.com/{{tenant-id}}/v2.0/.well-known/openid-configuration" /><audiences><audience>{{backend-api-key}}</audience></audiences></validate-jwt></inbound><backend><forward-request /></backend></policies>',
    );
    ({ stderr } = await cli(["targets", "--apiops", folder, "--gateway", "https://contoso.azure-api.net"]));
    expect(stderr).toContain(
      "note: api status: no audience in its effective policy to derive the scope from (its audiences are named values without a value: backend-api-key)",
    );
  });
});
