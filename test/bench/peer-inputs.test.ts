import { describe, expect, it } from "vitest";
import { buildNewmanCollection, newmanEnvironment, NEWMAN_PROBES } from "../../bench/newman-collection.js";
import { benchTargets, SUBSCRIPTION_KEY_SETTING, targetsFileEnv } from "../../bench/targets.js";
import { loadSettings } from "../../src/core/settings/load-settings.js";
import { targetsFileSchema } from "../../src/core/settings/targets-file.js";

const CANARY_SECRET = "canary-client-secret-value-0123456789";
const CANARY_KEY = "0123456789abcdef0123456789abcdef";
const URLS = ["https://127.0.0.1:4443/orders/health", "https://127.0.0.1:4443/orders-2/health"];

interface Item {
  name: string;
  item?: Item[];
  request?: { url: string; header?: { key: string; value: string }[] };
  event?: { script: { exec: string[] } }[];
}

describe("benchTargets", () => {
  it("writes a file the settings schema accepts, cycling over the APIs, with the key named not included", () => {
    const file = benchTargets(URLS, 5, "api://orders-api/.default", "/state/orders-api.policy.xml");
    expect(targetsFileSchema.safeParse(file).success).toBe(true);
    expect(file.targets.map((t) => t.url)).toEqual([URLS[0], URLS[1], URLS[0], URLS[1], URLS[0]]);
    expect(new Set(file.targets.map((t) => t.name)).size).toBe(5);
    expect(file.targets.every((t) => t.subscriptionKeySetting === SUBSCRIPTION_KEY_SETTING)).toBe(true);
    expect(file.targets.every((t) => t.policyFile === "/state/orders-api.policy.xml")).toBe(true);
  });

  it("targetsFileEnv gives settings loadSettings accepts next to PROBE_TARGETS_FILE", () => {
    const env = targetsFileEnv(
      {
        PROBE_TENANT_ID: "7d3c2f4e-1a6b-4c59-9e2d-5b8f0a1c3e47",
        PROBE_CLIENT_ID: "c2a8e5f1-7b39-4d06-8e4a-1f5c9b3d7a62",
        PROBE_CLIENT_SECRET: CANARY_SECRET,
        PROBE_API_URL: URLS[0]!,
        PROBE_API_METHOD: "GET",
        PROBE_API_SCOPE: "api://orders-api/.default",
        PROBE_SUBSCRIPTION_KEY: CANARY_KEY,
        PROBE_POLICY_FILE: "orders-api.policy.xml",
      },
      "targets.json",
    );
    const file = JSON.stringify(benchTargets(URLS, 3, "api://orders-api/.default"));
    const config = loadSettings(env, { readTextFile: () => file });
    expect(config.targets).toHaveLength(3);
    expect(config.targets.every((t) => t.subscriptionKey?.reveal() === CANARY_KEY)).toBe(true);
    expect(env.PROBE_SUBSCRIPTION_KEY).toBeUndefined();
    expect(env.PROBE_POLICY_FILE).toBeUndefined();
  });
});

describe("buildNewmanCollection", () => {
  const collection = buildNewmanCollection({
    authorityHost: "https://127.0.0.1:4444",
    tenantId: "7d3c2f4e-1a6b-4c59-9e2d-5b8f0a1c3e47",
    clientId: "c2a8e5f1-7b39-4d06-8e4a-1f5c9b3d7a62",
    apiScope: "api://orders-api/.default",
    wrongAudienceScope: "https://graph.microsoft.com/.default",
    unassignedClientId: "11111111-2222-3333-4444-555555555555",
    targetUrls: URLS,
  }) as { item: Item[] };

  it("asks for three tokens at the v2 endpoint, then every matrix request per target", () => {
    const [tokens, ...targets] = collection.item;
    expect(tokens?.item?.map((i) => i.request?.url)).toEqual(
      Array(3).fill("https://127.0.0.1:4444/7d3c2f4e-1a6b-4c59-9e2d-5b8f0a1c3e47/oauth2/v2.0/token"),
    );
    expect(targets).toHaveLength(URLS.length);
    for (const [i, target] of targets.entries()) {
      expect(target.item?.map((r) => r.name)).toEqual([...NEWMAN_PROBES]);
      expect(target.item?.every((r) => r.request?.url === URLS[i])).toBe(true);
    }
  });

  it("asserts the engine's expected statuses: 2xx for valid, 401 for the refusals", () => {
    const requests = collection.item[1]?.item ?? [];
    const script = (name: string) => requests.find((r) => r.name === name)?.event?.[0]?.script.exec.join("\n") ?? "";
    expect(script("valid")).toContain("[200,201,202,203,204,205,206]");
    for (const probe of NEWMAN_PROBES.filter((p) => p !== "valid")) expect(script(probe)).toContain("[401]");
  });

  it("sends the subscription key only where the probe does, and secrets only as variables", () => {
    const requests = collection.item[1]?.item ?? [];
    const keyOf = (name: string) =>
      requests.find((r) => r.name === name)?.request?.header?.find((h) => h.key === "Ocp-Apim-Subscription-Key")?.value;
    expect(keyOf("valid")).toBe("{{subscriptionKey}}");
    expect(keyOf("no-subscription-key")).toBeUndefined();
    expect(keyOf("invalid-subscription-key")).toMatch(/^[0-9a-f]{32}$/);
    const tokenBody = JSON.stringify(collection.item[0]?.item?.[0]);
    expect(tokenBody).toContain("{{clientSecret}}");
  });

  it("the environment carries the secrets as secret-typed variables", () => {
    const env = newmanEnvironment({
      clientSecret: CANARY_SECRET,
      unassignedClientSecret: "u",
      subscriptionKey: CANARY_KEY,
    }) as {
      values: { key: string; type: string }[];
    };
    expect(env.values.map((v) => [v.key, v.type])).toEqual([
      ["clientSecret", "secret"],
      ["unassignedClientSecret", "secret"],
      ["subscriptionKey", "secret"],
    ]);
  });
});
