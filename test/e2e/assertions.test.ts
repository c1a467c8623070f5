import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createProbeEngine } from "../../src/core/probes/engine.js";
import type { ProbeResult } from "../../src/core/results/types.js";
import { loadSettings } from "../../src/core/settings/load-settings.js";
import { startSandbox, type Sandbox } from "../../src/sandbox/index.js";

// A slow or wrong 200 is not a pass. Each assertion kind, against the sandbox's backend,
// whose answer is a JSON echo of what it received ({"api":"orders-api","method":"GET","path":"/health",...}).

let sandbox: Sandbox;
const dir = mkdtempSync(join(tmpdir(), "assertions-"));

beforeAll(async () => {
  sandbox = await startSandbox();
});
afterAll(() => sandbox.close());

async function valid(assertions: Record<string, unknown>, more: Record<string, unknown> = {}): Promise<ProbeResult> {
  const file = join(dir, `targets-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      targets: [
        {
          name: "orders",
          url: sandbox.apiUrls[0],
          scope: "api://orders-api/.default",
          subscriptionKeySetting: "ORDERS_KEY",
          assertions,
          ...more,
        },
      ],
    }),
  );
  const {
    PROBE_API_URL: _u,
    PROBE_API_SCOPE: _s,
    PROBE_API_METHOD: _m,
    PROBE_SUBSCRIPTION_KEY: key,
    PROBE_POLICY_FILE: _p,
    APPLICATIONINSIGHTS_CONNECTION_STRING: _i,
    ...rest
  } = sandbox.settings;
  const engine = createProbeEngine(loadSettings({ ...rest, PROBE_TARGETS_FILE: file, ORDERS_KEY: key! }));
  try {
    const report = await engine.run({ probes: ["token", "valid"] });
    return report.results.find((r) => r.probe === "valid")!;
  } finally {
    await engine.close();
  }
}

describe("assertions on valid", () => {
  it("all hold: pass", async () => {
    expect(
      await valid({
        bodyContains: '"method":"GET"',
        jsonPointer: { pointer: "/path", equals: "/health" },
        header: { name: "content-type" },
        maxLatencyMs: 5000,
      }),
    ).toMatchObject({ outcome: "pass" });
  });

  it.each([
    [{ bodyContains: "ORDER-4711" }, "bodyContains", '"ORDER-4711"', "not found"],
    [{ jsonPointer: { pointer: "/api", equals: "inventory" } }, "jsonPointer /api", '"inventory"', '"orders-api"'],
    [{ jsonPointer: { pointer: "/missing/0", equals: 1 } }, "jsonPointer /missing/0", "1", "no such member"],
    [{ header: { name: "x-api-version" } }, "header x-api-version", "present", "absent"],
    [
      { header: { name: "content-type", equals: "text/plain" } },
      "header content-type",
      '"text/plain"',
      expect.stringContaining("application/json") as unknown as string,
    ],
  ] as const)(
    "%j: a 200 that fails it is assertion-failed, naming expected and received",
    async (assertions, assertion, expected, received) => {
      const result = await valid(assertions);
      expect(result).toMatchObject({
        outcome: "fail",
        actualStatus: 200,
        diagnosis: { cause: "assertion-failed", evidence: { assertion, expected, received } },
      });
    },
  );

  it("maxLatencyMs exceeded: slow-response", async () => {
    sandbox.gateway.setBackend({ latencyMs: 300 });
    try {
      expect(await valid({ maxLatencyMs: 100 })).toMatchObject({
        outcome: "fail",
        diagnosis: { cause: "slow-response", evidence: { expected: "at most 100 ms" } },
      });
    } finally {
      sandbox.gateway.setBackend({});
    }
  });

  it("a body larger than the read limit: the text past it is not claimed absent, the limit is named", async () => {
    sandbox.gateway.setBackend({ paddingBytes: 200 * 1024 });
    try {
      const result = await valid({ bodyContains: "NEEDLE-AT-THE-END" });
      expect(result).toMatchObject({ outcome: "fail", diagnosis: { cause: "assertion-failed" } });
      expect(result.diagnosis?.evidence?.received).toMatch(/^not found \(only the first 64 KiB were read\)$/);
    } finally {
      sandbox.gateway.setBackend({});
    }
  });

  it("sends the target's request headers and body; credential headers cannot be set there", async () => {
    expect(
      await valid(
        { jsonPointer: { pointer: "/method", equals: "POST" } },
        { method: "POST", body: '{"q":1}', requestHeaders: { "content-type": "application/json" } },
      ),
    ).toMatchObject({ outcome: "pass" });
    const file = join(dir, "bad-headers.json");
    writeFileSync(
      file,
      JSON.stringify({
        targets: [
          {
            name: "x",
            url: sandbox.apiUrls[0],
            scope: "api://orders-api/.default",
            requestHeaders: { Authorization: "Basic dXNlcjpwYXNz" },
          },
        ],
      }),
    );
    const {
      PROBE_API_URL: _u,
      PROBE_API_SCOPE: _s,
      PROBE_SUBSCRIPTION_KEY: _k,
      PROBE_POLICY_FILE: _p,
      PROBE_API_METHOD: _m,
      ...rest
    } = sandbox.settings;
    expect(() => loadSettings({ ...rest, PROBE_TARGETS_FILE: file })).toThrow(/requestHeaders/);
  });
});
