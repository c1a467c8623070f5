import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import { SettingsError } from "../../../src/core/errors.js";
import { loadSettings, readSettingsEnv } from "../../../src/core/settings/load-settings.js";

const CANARY_SECRET = "Xy7Q~canaryClientSecretValue0123456789abc";
const CANARY_KEY = "0123456789abcdef0123456789abcdef";
const CANARY_UNASSIGNED = "canary-unassigned-secret-value";

const VALID = {
  PROBE_TENANT_ID: "7d3c2f4e-1a6b-4c59-9e2d-5b8f0a1c3e47",
  PROBE_CLIENT_ID: "c2a8e5f1-7b39-4d06-8e4a-1f5c9b3d7a62",
  PROBE_CLIENT_SECRET: CANARY_SECRET,
  PROBE_API_URL: "https://contoso.azure-api.net/orders/health",
  PROBE_API_SCOPE: "api://orders-api/.default",
  PROBE_SUBSCRIPTION_KEY: CANARY_KEY,
} as const;

const dir = mkdtempSync(join(tmpdir(), "settings-test-"));
function file(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

function problemsOf(env: Record<string, string | undefined>): { setting: string; problem: string }[] {
  try {
    loadSettings(env, { cwd: dir });
  } catch (error) {
    expect(error).toBeInstanceOf(SettingsError);
    const e = error as SettingsError;
    for (const canary of [CANARY_SECRET, CANARY_KEY, CANARY_UNASSIGNED, "eyJhbGciOi"]) expect(e.message).not.toContain(canary);
    return [...e.problems];
  }
  throw new Error("expected a SettingsError");
}

describe("loadSettings: valid", () => {
  it("loads a single target from settings with the documented defaults", () => {
    const config = loadSettings(VALID, { cwd: dir });
    expect(config).toMatchObject({
      authorityHost: "https://login.microsoftonline.com",
      // The probe's own app: tenant-signed like the valid token, wrong only in its audience.
      wrongAudienceScope: `${VALID.PROBE_CLIENT_ID}/.default`,
      wrongAudienceIsOwnApp: true,
      cloud: "public",
      timeoutMs: 10_000,
      credential: { kind: "secret" },
    });
    expect(config.targets).toHaveLength(1);
    expect(config.targets[0]).toMatchObject({ name: "default", method: "GET", subscriptionKeySetting: "PROBE_SUBSCRIPTION_KEY" });
    expect(config.targets[0]!.expectedStatuses["no-token"]).toEqual([401]);
    // Secrets never print, even when the whole config is dumped.
    const dumped = `${JSON.stringify(config)} ${inspect(config, { depth: 10 })}`;
    expect(dumped).not.toContain(CANARY_SECRET);
    expect(dumped).not.toContain(CANARY_KEY);
  });

  it("treats empty values as unset and reads a .env-style file under the environment", () => {
    const envFile = file("probe.env", `PROBE_API_METHOD=post\nPROBE_TIMEOUT_MS=2500\nPROBE_RUN_LOCATION=from-file\n`);
    const { values: env } = readSettingsEnv({ ...VALID, PROBE_RUN_LOCATION: "from-env", PROBE_EXPIRED_TOKEN: "" }, { envFile, cwd: dir });
    const config = loadSettings(env, { cwd: dir });
    expect(config.targets[0]!.method).toBe("POST");
    expect(config.timeoutMs).toBe(2500);
    expect(config.runLocation).toBe("from-env");
    expect(config.expiredToken).toBeUndefined();
  });

  it("loads targets from PROBE_TARGETS_FILE with key references and per-probe expectations", () => {
    const targets = file(
      "targets.json",
      JSON.stringify({
        targets: [
          {
            name: "orders",
            url: "https://contoso.azure-api.net/orders/health",
            scope: "api://orders-api/.default",
            subscriptionKeySetting: "ORDERS_KEY",
            policyFile: "policies/orders.xml",
            expectedStatuses: { "no-token": [401, 403] },
            probes: ["alg-none", "valid", "token"],
          },
        ],
      }),
    );
    const { PROBE_API_URL: _u, PROBE_API_SCOPE: _s, PROBE_SUBSCRIPTION_KEY: _k, ...rest } = VALID;
    const config = loadSettings({ ...rest, PROBE_TARGETS_FILE: targets, ORDERS_KEY: CANARY_KEY }, { cwd: dir });
    expect(config.targets[0]).toMatchObject({
      name: "orders",
      subscriptionKeySetting: "ORDERS_KEY",
      policyFile: join(dir, "policies/orders.xml"),
      probes: ["token", "valid", "alg-none"],
    });
    expect(config.targets[0]!.subscriptionKey?.reveal()).toBe(CANARY_KEY);
    expect(config.targets[0]!.expectedStatuses["no-token"]).toEqual([401, 403]);
  });
});

const targetsFile = (targets: unknown): string => file(`t-${Math.random().toString(36).slice(2)}.json`, JSON.stringify({ targets }));
const T = { name: "orders", url: "https://contoso.azure-api.net/o", scope: "api://orders/.default" };
const { PROBE_API_URL: _u, PROBE_API_SCOPE: _s, PROBE_SUBSCRIPTION_KEY: _k, ...NO_TARGET } = VALID;

describe("loadSettings: every bad setting is named", () => {
  it.each<[string, Record<string, string | undefined>, string]>([
    ["missing tenant", { ...VALID, PROBE_TENANT_ID: undefined }, "PROBE_TENANT_ID"],
    ["tenant 'common'", { ...VALID, PROBE_TENANT_ID: "common" }, "PROBE_TENANT_ID"],
    ["missing client id", { ...VALID, PROBE_CLIENT_ID: undefined }, "PROBE_CLIENT_ID"],
    ["client id not a GUID", { ...VALID, PROBE_CLIENT_ID: "smoke-probe" }, "PROBE_CLIENT_ID"],
    ["http authority", { ...VALID, PROBE_AUTHORITY_HOST: "http://login.microsoftonline.com" }, "PROBE_AUTHORITY_HOST"],
    ["authority with a path", { ...VALID, PROBE_AUTHORITY_HOST: "https://login.microsoftonline.com/tenant" }, "PROBE_AUTHORITY_HOST"],
    ["no credential", { ...VALID, PROBE_CLIENT_SECRET: undefined }, "PROBE_CLIENT_SECRET"],
    ["two credentials", { ...VALID, PROBE_CREDENTIAL: "managed-identity" }, "PROBE_CREDENTIAL"],
    ["unknown credential kind", { ...VALID, PROBE_CLIENT_SECRET: undefined, PROBE_CREDENTIAL: "password" }, "PROBE_CREDENTIAL"],
    ["MI client id without MI", { ...VALID, PROBE_MANAGED_IDENTITY_CLIENT_ID: "d84f2b6a-1c93-4e57-b0a8-5e3d7f9c1b26" }, "PROBE_MANAGED_IDENTITY_CLIENT_ID"],
    ["missing certificate file", { ...VALID, PROBE_CLIENT_SECRET: undefined, PROBE_CLIENT_CERTIFICATE_PATH: "nope.pem" }, "PROBE_CLIENT_CERTIFICATE_PATH"],
    ["certificate without key", { ...VALID, PROBE_CLIENT_SECRET: undefined, PROBE_CLIENT_CERTIFICATE_PATH: file("c.pem", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n") }, "PROBE_CLIENT_CERTIFICATE_PATH"],
    ["missing API URL", { ...VALID, PROBE_API_URL: undefined }, "PROBE_API_URL"],
    ["http API URL", { ...VALID, PROBE_API_URL: "http://contoso.azure-api.net/orders" }, "PROBE_API_URL"],
    ["key in the API URL", { ...VALID, PROBE_API_URL: `https://contoso.azure-api.net/o?subscription-key=${CANARY_KEY}` }, "PROBE_API_URL"],
    ["bad method", { ...VALID, PROBE_API_METHOD: "FETCH" }, "PROBE_API_METHOD"],
    ["missing scope", { ...VALID, PROBE_API_SCOPE: undefined }, "PROBE_API_SCOPE"],
    ["scope without /.default", { ...VALID, PROBE_API_SCOPE: "api://orders-api/Api.Access" }, "PROBE_API_SCOPE"],
    ["wrong-audience scope without /.default", { ...VALID, PROBE_WRONG_AUDIENCE_SCOPE: "https://graph.microsoft.com" }, "PROBE_WRONG_AUDIENCE_SCOPE"],
    ["unassigned id without secret", { ...VALID, PROBE_UNASSIGNED_CLIENT_ID: "a5d1f8c3-9e27-4b64-8a0d-2c6e4f1b7d93" }, "PROBE_UNASSIGNED_CLIENT_SECRET"],
    ["unassigned secret without id", { ...VALID, PROBE_UNASSIGNED_CLIENT_SECRET: CANARY_UNASSIGNED }, "PROBE_UNASSIGNED_CLIENT_ID"],
    ["expired token not a JWT", { ...VALID, PROBE_EXPIRED_TOKEN: "eyJhbGciOi-not-a-jwt" }, "PROBE_EXPIRED_TOKEN"],
    ["state key too short to seal tokens", { ...VALID, PROBE_STATE_KEY: "canary-short-key" }, "PROBE_STATE_KEY"],
    ["authentication string without Authorization=AAD", { ...VALID, APPLICATIONINSIGHTS_AUTHENTICATION_STRING: "ClientId=d84f2b6a-1c93-4e57-b0a8-5e3d7f9c1b26" }, "APPLICATIONINSIGHTS_AUTHENTICATION_STRING"],
    ["authentication string with a ClientId that is not a GUID", { ...VALID, APPLICATIONINSIGHTS_AUTHENTICATION_STRING: "Authorization=AAD;ClientId=probe" }, "APPLICATIONINSIGHTS_AUTHENTICATION_STRING"],
    ["timeout not a number", { ...VALID, PROBE_TIMEOUT_MS: "soon" }, "PROBE_TIMEOUT_MS"],
    ["timeout too small", { ...VALID, PROBE_TIMEOUT_MS: "5" }, "PROBE_TIMEOUT_MS"],
    ["timeout past the HTTP trigger's 230 s", { ...VALID, PROBE_TIMEOUT_MS: "300000" }, "PROBE_TIMEOUT_MS"],
    ["run location too long", { ...VALID, PROBE_RUN_LOCATION: "x".repeat(3000) }, "PROBE_RUN_LOCATION"],
    ["unreadable CA file", { ...VALID, NODE_EXTRA_CA_CERTS: "missing-ca.pem" }, "NODE_EXTRA_CA_CERTS"],
    ["targets file missing", { ...NO_TARGET, PROBE_TARGETS_FILE: "missing.json" }, "PROBE_TARGETS_FILE"],
    ["targets file not JSON", { ...NO_TARGET, PROBE_TARGETS_FILE: file("bad.json", "{targets:") }, "PROBE_TARGETS_FILE"],
    ["targets file plus PROBE_API_URL", { ...VALID, PROBE_SUBSCRIPTION_KEY: undefined, PROBE_API_SCOPE: undefined, PROBE_TARGETS_FILE: targetsFile([T]) }, "PROBE_API_URL"],
    ["no targets", { ...NO_TARGET, PROBE_TARGETS_FILE: targetsFile([]) }, "PROBE_TARGETS_FILE targets"],
    ["target with http url", { ...NO_TARGET, PROBE_TARGETS_FILE: targetsFile([{ ...T, url: "http://x.example/o" }]) }, "PROBE_TARGETS_FILE targets[0].url"],
    ["target name with a slash", { ...NO_TARGET, PROBE_TARGETS_FILE: targetsFile([{ ...T, name: "a/b" }]) }, "PROBE_TARGETS_FILE targets[0].name"],
    ["duplicate target names", { ...NO_TARGET, PROBE_TARGETS_FILE: targetsFile([T, T]) }, "PROBE_TARGETS_FILE targets[1].name"],
    ["unknown probe", { ...NO_TARGET, PROBE_TARGETS_FILE: targetsFile([{ ...T, probes: ["valid", "sql-injection"] }]) }, "PROBE_TARGETS_FILE targets[0].probes[1]"],
    ["expected status out of range", { ...NO_TARGET, PROBE_TARGETS_FILE: targetsFile([{ ...T, expectedStatuses: { valid: [2000] } }]) }, "PROBE_TARGETS_FILE targets[0].expectedStatuses.valid[0]"],
    ["key value inline", { ...NO_TARGET, PROBE_TARGETS_FILE: targetsFile([{ ...T, subscriptionKeySetting: CANARY_KEY }]) }, "PROBE_TARGETS_FILE targets[0].subscriptionKeySetting"],
    ["secret under an unknown property", { ...NO_TARGET, PROBE_TARGETS_FILE: targetsFile([{ ...T, clientSecret: CANARY_SECRET }]) }, "PROBE_TARGETS_FILE targets[0].clientSecret"],
    ["unknown property", { ...NO_TARGET, PROBE_TARGETS_FILE: targetsFile([{ ...T, subscriptionKey: "see-vault" }]) }, "PROBE_TARGETS_FILE targets[0]"],
    ["referenced key setting missing", { ...NO_TARGET, PROBE_TARGETS_FILE: targetsFile([{ ...T, subscriptionKeySetting: "ORDERS_KEY" }]) }, "ORDERS_KEY"],
  ])("%s", (_name, env, setting) => {
    const problems = problemsOf(env);
    expect(problems.map((p) => p.setting)).toContain(setting);
    for (const p of problems) expect(p.problem.length).toBeGreaterThan(3);
  });

  it("lists every problem at once", () => {
    const problems = problemsOf({ PROBE_CLIENT_SECRET: CANARY_SECRET, PROBE_TIMEOUT_MS: "x" });
    expect(problems.map((p) => p.setting)).toEqual(
      expect.arrayContaining(["PROBE_TENANT_ID", "PROBE_CLIENT_ID", "PROBE_API_URL", "PROBE_API_SCOPE", "PROBE_TIMEOUT_MS"]),
    );
  });

  it("never echoes a secret-bearing value, whatever is wrong with it", () => {
    const problems = problemsOf({ ...VALID, PROBE_TENANT_ID: CANARY_SECRET, PROBE_CLIENT_ID: CANARY_KEY, PROBE_EXPIRED_TOKEN: CANARY_UNASSIGNED, PROBE_STATE_KEY: "canary-short" });
    expect(problems.map((p) => p.setting)).toContain("PROBE_STATE_KEY");
    expect(JSON.stringify(problems)).not.toMatch(/canary|0123456789abcdef/i);
  });
});
