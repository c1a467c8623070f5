import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import { SettingsError } from "../../../src/core/errors.js";
import { loadSettings } from "../../../src/core/settings/load-settings.js";
import { readSettingsEnv } from "../../../src/core/settings/settings-sources.js";

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
    for (const canary of [CANARY_SECRET, CANARY_KEY, CANARY_UNASSIGNED, "eyJhbGciOi"])
      expect(e.message).not.toContain(canary);
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
    expect(config.targets[0]).toMatchObject({
      name: "default",
      method: "GET",
      subscriptionKeySetting: "PROBE_SUBSCRIPTION_KEY",
    });
    expect(config.targets[0]!.expectedStatuses["no-token"]).toEqual([401]);
    // Secrets never print, even when the whole config is dumped.
    const dumped = `${JSON.stringify(config)} ${inspect(config, { depth: 10 })}`;
    expect(dumped).not.toContain(CANARY_SECRET);
    expect(dumped).not.toContain(CANARY_KEY);
  });

  it("treats empty values as unset and reads a .env-style file under the environment", () => {
    const envFile = file("probe.env", `PROBE_API_METHOD=post\nPROBE_TIMEOUT_MS=2500\nPROBE_RUN_LOCATION=from-file\n`);
    const { values: env } = readSettingsEnv(
      { ...VALID, PROBE_RUN_LOCATION: "from-env", PROBE_EXPIRED_TOKEN: "" },
      { envFile, cwd: dir },
    );
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

const targetsFile = (targets: unknown): string =>
  file(`t-${Math.random().toString(36).slice(2)}.json`, JSON.stringify({ targets }));
const T = { name: "orders", url: "https://contoso.azure-api.net/o", scope: "api://orders/.default" };
const { PROBE_API_URL: _u, PROBE_API_SCOPE: _s, PROBE_SUBSCRIPTION_KEY: _k, ...NO_TARGET } = VALID;

describe("loadSettings: every bad setting is named", () => {
  it.each<[string, Record<string, string | undefined>, string]>([
    ["missing tenant", { ...VALID, PROBE_TENANT_ID: undefined }, "PROBE_TENANT_ID"],
    ["tenant 'common'", { ...VALID, PROBE_TENANT_ID: "common" }, "PROBE_TENANT_ID"],
    ["missing client id", { ...VALID, PROBE_CLIENT_ID: undefined }, "PROBE_CLIENT_ID"],
    ["client id not a GUID", { ...VALID, PROBE_CLIENT_ID: "smoke-probe" }, "PROBE_CLIENT_ID"],
    ["http authority", { ...VALID, PROBE_AUTHORITY_HOST: "http://login.microsoftonline.com" }, "PROBE_AUTHORITY_HOST"],
    [
      "authority with a path",
      { ...VALID, PROBE_AUTHORITY_HOST: "https://login.microsoftonline.com/tenant" },
      "PROBE_AUTHORITY_HOST",
    ],
    ["no credential", { ...VALID, PROBE_CLIENT_SECRET: undefined }, "PROBE_CLIENT_SECRET"],
    ["two credentials", { ...VALID, PROBE_CREDENTIAL: "managed-identity" }, "PROBE_CREDENTIAL"],
    [
      "unknown credential kind",
      { ...VALID, PROBE_CLIENT_SECRET: undefined, PROBE_CREDENTIAL: "password" },
      "PROBE_CREDENTIAL",
    ],
    [
      "MI client id without MI",
      { ...VALID, PROBE_MANAGED_IDENTITY_CLIENT_ID: "d84f2b6a-1c93-4e57-b0a8-5e3d7f9c1b26" },
      "PROBE_MANAGED_IDENTITY_CLIENT_ID",
    ],
    [
      "missing certificate file",
      { ...VALID, PROBE_CLIENT_SECRET: undefined, PROBE_CLIENT_CERTIFICATE_PATH: "nope.pem" },
      "PROBE_CLIENT_CERTIFICATE_PATH",
    ],
    [
      "certificate without key",
      {
        ...VALID,
        PROBE_CLIENT_SECRET: undefined,
        PROBE_CLIENT_CERTIFICATE_PATH: file("c.pem", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
      },
      "PROBE_CLIENT_CERTIFICATE_PATH",
    ],
    ["missing API URL", { ...VALID, PROBE_API_URL: undefined }, "PROBE_API_URL"],
    ["http API URL", { ...VALID, PROBE_API_URL: "http://contoso.azure-api.net/orders" }, "PROBE_API_URL"],
    [
      "key in the API URL",
      { ...VALID, PROBE_API_URL: `https://contoso.azure-api.net/o?subscription-key=${CANARY_KEY}` },
      "PROBE_API_URL",
    ],
    ["bad method", { ...VALID, PROBE_API_METHOD: "FETCH" }, "PROBE_API_METHOD"],
    ["missing scope", { ...VALID, PROBE_API_SCOPE: undefined }, "PROBE_API_SCOPE"],
    ["scope without /.default", { ...VALID, PROBE_API_SCOPE: "api://orders-api/Api.Access" }, "PROBE_API_SCOPE"],
    [
      "wrong-audience scope without /.default",
      { ...VALID, PROBE_WRONG_AUDIENCE_SCOPE: "https://graph.microsoft.com" },
      "PROBE_WRONG_AUDIENCE_SCOPE",
    ],
    [
      "unassigned id without secret",
      { ...VALID, PROBE_UNASSIGNED_CLIENT_ID: "a5d1f8c3-9e27-4b64-8a0d-2c6e4f1b7d93" },
      "PROBE_UNASSIGNED_CLIENT_SECRET",
    ],
    [
      "unassigned secret without id",
      { ...VALID, PROBE_UNASSIGNED_CLIENT_SECRET: CANARY_UNASSIGNED },
      "PROBE_UNASSIGNED_CLIENT_ID",
    ],
    ["expired token not a JWT", { ...VALID, PROBE_EXPIRED_TOKEN: "eyJhbGciOi-not-a-jwt" }, "PROBE_EXPIRED_TOKEN"],
    ["state key too short to seal tokens", { ...VALID, PROBE_STATE_KEY: "canary-short-key" }, "PROBE_STATE_KEY"],
    [
      "authentication string without Authorization=AAD",
      { ...VALID, APPLICATIONINSIGHTS_AUTHENTICATION_STRING: "ClientId=d84f2b6a-1c93-4e57-b0a8-5e3d7f9c1b26" },
      "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
    ],
    [
      "authentication string with a ClientId that is not a GUID",
      { ...VALID, APPLICATIONINSIGHTS_AUTHENTICATION_STRING: "Authorization=AAD;ClientId=probe" },
      "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
    ],
    ["timeout not a number", { ...VALID, PROBE_TIMEOUT_MS: "soon" }, "PROBE_TIMEOUT_MS"],
    ["timeout too small", { ...VALID, PROBE_TIMEOUT_MS: "5" }, "PROBE_TIMEOUT_MS"],
    ["timeout past the HTTP trigger's 230 s", { ...VALID, PROBE_TIMEOUT_MS: "300000" }, "PROBE_TIMEOUT_MS"],
    ["run location too long", { ...VALID, PROBE_RUN_LOCATION: "x".repeat(3000) }, "PROBE_RUN_LOCATION"],
    ["unreadable CA file", { ...VALID, NODE_EXTRA_CA_CERTS: "missing-ca.pem" }, "NODE_EXTRA_CA_CERTS"],
    ["targets file missing", { ...NO_TARGET, PROBE_TARGETS_FILE: "missing.json" }, "PROBE_TARGETS_FILE"],
    [
      "targets file not JSON",
      { ...NO_TARGET, PROBE_TARGETS_FILE: file("bad.json", "{targets:") },
      "PROBE_TARGETS_FILE",
    ],
    [
      "targets file plus PROBE_API_URL",
      { ...VALID, PROBE_SUBSCRIPTION_KEY: undefined, PROBE_API_SCOPE: undefined, PROBE_TARGETS_FILE: targetsFile([T]) },
      "PROBE_API_URL",
    ],
    ["no targets", { ...NO_TARGET, PROBE_TARGETS_FILE: targetsFile([]) }, "PROBE_TARGETS_FILE targets"],
    [
      "target with http url",
      { ...NO_TARGET, PROBE_TARGETS_FILE: targetsFile([{ ...T, url: "http://x.example/o" }]) },
      "PROBE_TARGETS_FILE targets[0].url",
    ],
    [
      "target name with a slash",
      { ...NO_TARGET, PROBE_TARGETS_FILE: targetsFile([{ ...T, name: "a/b" }]) },
      "PROBE_TARGETS_FILE targets[0].name",
    ],
    [
      "duplicate target names",
      { ...NO_TARGET, PROBE_TARGETS_FILE: targetsFile([T, T]) },
      "PROBE_TARGETS_FILE targets[1].name",
    ],
    [
      "unknown probe",
      { ...NO_TARGET, PROBE_TARGETS_FILE: targetsFile([{ ...T, probes: ["valid", "sql-injection"] }]) },
      "PROBE_TARGETS_FILE targets[0].probes[1]",
    ],
    [
      "expected status out of range",
      { ...NO_TARGET, PROBE_TARGETS_FILE: targetsFile([{ ...T, expectedStatuses: { valid: [2000] } }]) },
      "PROBE_TARGETS_FILE targets[0].expectedStatuses.valid[0]",
    ],
    [
      "key value inline",
      { ...NO_TARGET, PROBE_TARGETS_FILE: targetsFile([{ ...T, subscriptionKeySetting: CANARY_KEY }]) },
      "PROBE_TARGETS_FILE targets[0].subscriptionKeySetting",
    ],
    [
      "secret under an unknown property",
      { ...NO_TARGET, PROBE_TARGETS_FILE: targetsFile([{ ...T, clientSecret: CANARY_SECRET }]) },
      "PROBE_TARGETS_FILE targets[0].clientSecret",
    ],
    [
      "unknown property",
      { ...NO_TARGET, PROBE_TARGETS_FILE: targetsFile([{ ...T, subscriptionKey: "see-vault" }]) },
      "PROBE_TARGETS_FILE targets[0]",
    ],
    [
      "referenced key setting missing",
      { ...NO_TARGET, PROBE_TARGETS_FILE: targetsFile([{ ...T, subscriptionKeySetting: "ORDERS_KEY" }]) },
      "ORDERS_KEY",
    ],
  ])("%s", (_name, env, setting) => {
    const problems = problemsOf(env);
    expect(problems.map((p) => p.setting)).toContain(setting);
    for (const p of problems) expect(p.problem.length).toBeGreaterThan(3);
  });

  it("lists every problem at once", () => {
    const problems = problemsOf({ PROBE_CLIENT_SECRET: CANARY_SECRET, PROBE_TIMEOUT_MS: "x" });
    expect(problems.map((p) => p.setting)).toEqual(
      expect.arrayContaining([
        "PROBE_TENANT_ID",
        "PROBE_CLIENT_ID",
        "PROBE_API_URL",
        "PROBE_API_SCOPE",
        "PROBE_TIMEOUT_MS",
      ]),
    );
  });

  it("never echoes a secret-bearing value, whatever is wrong with it", () => {
    const problems = problemsOf({
      ...VALID,
      PROBE_TENANT_ID: CANARY_SECRET,
      PROBE_CLIENT_ID: CANARY_KEY,
      PROBE_EXPIRED_TOKEN: CANARY_UNASSIGNED,
      PROBE_STATE_KEY: "canary-short",
    });
    expect(problems.map((p) => p.setting)).toContain("PROBE_STATE_KEY");
    expect(JSON.stringify(problems)).not.toMatch(/canary|0123456789abcdef/i);
  });
});

describe("a JSON file that does not parse names the parser's reason and where, never a piece of its text", () => {
  const { PROBE_API_URL: _u, PROBE_API_SCOPE: _s, PROBE_SUBSCRIPTION_KEY: _k, ...rest } = VALID;

  it("a targets file with a trailing comma", () => {
    const targets = file("comma-targets.json", `{"targets": [\n  {"name": "orders", "url": "${CANARY_SECRET}",}\n]}`);
    const problems = problemsOf({ ...rest, PROBE_TARGETS_FILE: targets });
    expect(problems).toEqual([
      {
        setting: "PROBE_TARGETS_FILE",
        problem: expect.stringMatching(/^file is not valid JSON: .*\(line 2 column \d+\)$/) as string,
      },
    ]);
  });

  it("an unexpected token: the reason, not the text V8 quotes after it", () => {
    const targets = file("token-targets.json", `{"targets": ${CANARY_SECRET}}`);
    const [problem] = problemsOf({ ...rest, PROBE_TARGETS_FILE: targets });
    expect(problem!.problem).toBe("file is not valid JSON: Unexpected token");
    expect(problem!.problem).not.toContain("canary");
  });

  it("a local.settings.json with a trailing comma", () => {
    const path = file("comma.settings.json", `{"Values": {\n  "PROBE_CLIENT_SECRET": "${CANARY_SECRET}",\n}}`);
    expect(() => readSettingsEnv({}, { envFile: path })).toThrow(/not valid JSON.*: .*\(line 3 column \d+\)/);
    expect(() => readSettingsEnv({}, { envFile: path })).not.toThrow(/canary/i);
  });
});

describe("loadSettings: values that are not values", () => {
  const KV_URI = "@Microsoft.KeyVault(SecretUri=https://probe-kv.vault.azure.net/secrets/probe-secret/)";
  const KV_NAMES = "@Microsoft.KeyVault(VaultName=probe-kv;SecretName=subscription-key)";

  it.each([
    ["PROBE_CLIENT_SECRET", KV_URI],
    ["PROBE_SUBSCRIPTION_KEY", KV_NAMES],
    ["PROBE_STATE_KEY", KV_URI],
    ["PROBE_UNASSIGNED_CLIENT_SECRET", KV_NAMES],
    ["PROBE_EXPIRED_TOKEN", KV_URI],
  ])(
    "an unresolved Key Vault reference in %s is refused, naming the role and the portal's status",
    (setting, reference) => {
      const env = {
        ...VALID,
        [setting]: reference,
        ...(setting === "PROBE_UNASSIGNED_CLIENT_SECRET"
          ? { PROBE_UNASSIGNED_CLIENT_ID: "5b1e9c3a-8d27-4f60-a4b9-2c7e1f0d8a53" }
          : {}),
      };
      const problems = problemsOf(env);
      // Only the reference is reported for this setting, not what its text fails besides.
      const own = problems.filter((p) => p.setting === setting);
      expect(own).toHaveLength(1);
      expect(own[0]!.problem).toMatch(/unresolved Key Vault reference/);
      expect(own[0]!.problem).toContain("Key Vault Secrets User");
      expect(own[0]!.problem).toContain("Environment variables");
      // A settings file for the CLI is never resolved by anyone: say what to put there instead.
      expect(own[0]!.problem).toContain(
        "for the CLI (a settings file, a pipeline's variables) give the secret's value itself",
      );
      expect(JSON.stringify(problems)).not.toContain("probe-kv");
    },
  );

  it.each([
    ["PROBE_CLIENT_SECRET", "@Microsoft.AppConfiguration(Endpoint=https://probe-config.azconfig.io; Key=probe-secret)"],
    [
      "PROBE_SUBSCRIPTION_KEY",
      " @microsoft.appconfiguration ( Endpoint=https://probe-config.azconfig.io; Key=k; Label=prod)",
    ],
    [
      "APPLICATIONINSIGHTS_CONNECTION_STRING",
      "@Microsoft.AppConfiguration(Endpoint=https://probe-config.azconfig.io; Key=ai)",
    ],
  ])(
    "an unresolved App Configuration reference in %s is refused, naming its own role, not sent",
    (setting, reference) => {
      const own = problemsOf({ ...VALID, [setting]: reference }).filter((p) => p.setting === setting);
      expect(own).toHaveLength(1);
      expect(own[0]!.problem).toMatch(/unresolved App Configuration reference/);
      expect(own[0]!.problem).toContain("App Configuration Data Reader");
      expect(own[0]!.problem).toContain("app-service-configuration-references");
      expect(JSON.stringify(own)).not.toContain("probe-config");
    },
  );

  it.each([
    ["PROBE_CLIENT_SECRET", "a trailing space", `${CANARY_SECRET} `],
    ["PROBE_CLIENT_SECRET", "a leading tab", `\t${CANARY_SECRET}`],
    ["PROBE_UNASSIGNED_CLIENT_SECRET", "a trailing space", `${CANARY_UNASSIGNED} `],
  ])(
    "a client secret (%s) with %s is refused at start, not sent to Entra as a wrong secret",
    (setting, _what, value) => {
      const problems = problemsOf({
        ...VALID,
        PROBE_UNASSIGNED_CLIENT_ID: "5b1e9c3a-8d27-4f60-a4b9-2c7e1f0d8a53",
        PROBE_UNASSIGNED_CLIENT_SECRET: CANARY_UNASSIGNED,
        [setting]: value,
      });
      expect(problems.map((p) => p.setting)).toEqual([setting]);
      expect(problems[0]!.problem).toMatch(/starts or ends with a space/);
      expect(JSON.stringify(problems)).not.toContain(value.trim());
    },
  );

  it("a reference in a setting a targets file names for its key is refused too", () => {
    const targets = file(
      "kv-targets.json",
      JSON.stringify({
        targets: [
          {
            name: "orders",
            url: VALID.PROBE_API_URL,
            scope: VALID.PROBE_API_SCOPE,
            subscriptionKeySetting: "ORDERS_KEY",
          },
        ],
      }),
    );
    const { PROBE_API_URL: _u, PROBE_API_SCOPE: _s, PROBE_SUBSCRIPTION_KEY: _k, ...rest } = VALID;
    const problems = problemsOf({ ...rest, PROBE_TARGETS_FILE: targets, ORDERS_KEY: KV_NAMES });
    expect(problems.map((p) => p.setting)).toEqual(["ORDERS_KEY"]);
    expect(problems[0]!.problem).toMatch(/unresolved Key Vault reference.*target "orders"/s);
  });

  it("the sample settings file's placeholders are refused for every setting", () => {
    const sample = JSON.parse(readFileSync("local.settings.sample.json", "utf8")) as { Values: Record<string, string> };
    const problems = problemsOf(sample.Values);
    const placeholders = Object.entries(sample.Values)
      .filter(([name, v]) => /<[^>]+>/.test(v) && name !== "PROBE_SCHEDULE")
      .map(([name]) => name);
    expect(placeholders.length).toBeGreaterThan(5);
    for (const name of placeholders) {
      const own = problems.filter((p) => p.setting === name);
      expect(own, name).toHaveLength(1);
      expect(own[0]!.problem).toContain("placeholder");
    }
  });

  it.each([
    ["a trailing newline", `${CANARY_KEY}\n`, /line break/],
    ["a CR LF", `${CANARY_KEY}\r\n`, /line break/],
    ["a NUL", `${CANARY_KEY}\0`, /NUL/],
    ["a non-ASCII character", `${CANARY_KEY}é`, /non-ASCII/],
    ["a trailing space", `${CANARY_KEY} `, /space/],
  ])("a subscription key with %s is refused before any request", (_what, key, message) => {
    const problems = problemsOf({ ...VALID, PROBE_SUBSCRIPTION_KEY: key });
    expect(problems.map((p) => p.setting)).toEqual(["PROBE_SUBSCRIPTION_KEY"]);
    expect(problems[0]!.problem).toMatch(message);
  });

  it("a client secret saved with its newline is refused", () => {
    const problems = problemsOf({ ...VALID, PROBE_CLIENT_SECRET: `${CANARY_SECRET}\n` });
    expect(problems.map((p) => p.setting)).toEqual(["PROBE_CLIENT_SECRET"]);
    expect(problems[0]!.problem).toMatch(/line break/);
  });

  it.each([
    ["a value with CR LF", { "X-Tenant": "a\r\nX-Injected: 1" }, "requestHeaders.X-Tenant", /line break/],
    ["a value with NUL", { "X-Tenant": "a\0" }, "requestHeaders.X-Tenant", /NUL/],
    ["a non-ASCII value", { "X-Tenant": "Zürich" }, "requestHeaders.X-Tenant", /non-ASCII/],
    ["transfer-encoding", { "Transfer-Encoding": "chunked" }, "requestHeaders", /hop-by-hop/],
    ["connection", { connection: "close" }, "requestHeaders", /hop-by-hop/],
  ])(
    "a targets file's requestHeaders with %s is refused, naming the target",
    (_what, requestHeaders, where, message) => {
      const targets = file(
        "header-targets.json",
        JSON.stringify({
          targets: [{ name: "orders", url: VALID.PROBE_API_URL, scope: VALID.PROBE_API_SCOPE, requestHeaders }],
        }),
      );
      const { PROBE_API_URL: _u, PROBE_API_SCOPE: _s, PROBE_SUBSCRIPTION_KEY: _k, ...rest } = VALID;
      const problems = problemsOf({ ...rest, PROBE_TARGETS_FILE: targets });
      expect(problems).toHaveLength(1);
      expect(problems[0]!.setting).toContain(`PROBE_TARGETS_FILE targets[0].${where}`);
      expect(problems[0]!.problem).toMatch(message);
    },
  );
});

describe("a subscription key header the HTTP client owns is refused at start", () => {
  it.each(["Upgrade", "Expect", "Keep-Alive", "TE", "Trailer", "Connection", "Authorization"])(
    "PROBE_SUBSCRIPTION_KEY_HEADER=%s, and a targets file's subscriptionKeyHeader",
    (name) => {
      const own = problemsOf({ ...VALID, PROBE_SUBSCRIPTION_KEY_HEADER: name });
      expect(own.map((p) => p.setting)).toEqual(["PROBE_SUBSCRIPTION_KEY_HEADER"]);
      expect(own[0]!.problem).toMatch(/must not be a header the probe or HTTP itself sets/);
      const targets = file(
        "key-header-targets.json",
        JSON.stringify({
          targets: [
            { name: "orders", url: VALID.PROBE_API_URL, scope: VALID.PROBE_API_SCOPE, subscriptionKeyHeader: name },
          ],
        }),
      );
      const { PROBE_API_URL: _u, PROBE_API_SCOPE: _s, PROBE_SUBSCRIPTION_KEY: _k, ...rest } = VALID;
      expect(problemsOf({ ...rest, PROBE_TARGETS_FILE: targets }).map((p) => p.setting)).toEqual([
        "PROBE_TARGETS_FILE targets[0].subscriptionKeyHeader",
      ]);
    },
  );
});

describe("loadSettings: typos are never silent", () => {
  it.each([
    ["PROBE_TIMEOUT", "5000", "PROBE_TIMEOUT_MS"],
    ["PROBE_CERT_WARN_DAY", "60", "PROBE_CERT_WARN_DAYS"],
    ["PROBE_RUN_LOCATON", "westeurope", "PROBE_RUN_LOCATION"],
    ["probe_timeout_ms", "5000", "PROBE_TIMEOUT_MS"],
    // The setting the probe's own TLS fix names, and the connection string: a typo would be silent.
    ["NODE_EXTRA_CA_CERT", "/etc/ssl/proxy-ca.pem", "NODE_EXTRA_CA_CERTS"],
    ["APPLICATIONINSIGHTS_CONNECTIONSTRING", "InstrumentationKey=x", "APPLICATIONINSIGHTS_CONNECTION_STRING"],
  ])("%s is warned about with the closest known name", (name, value, known) => {
    const config = loadSettings({ ...VALID, [name]: value }, { cwd: dir });
    expect(config.settingWarnings).toHaveLength(1);
    expect(config.settingWarnings![0]).toContain(`${name} is not read`);
    expect(config.settingWarnings![0]).toContain(`did you mean ${known}?`);
  });

  it("a misspelt optional setting is named beside the problems that stop the start, not only once they are fixed", () => {
    const problems = problemsOf({ ...VALID, PROBE_SUBSCRIPTION_KEY: "key\n", PROBE_TIMEOUT: "5000" });
    expect(problems.map((p) => p.setting)).toEqual(["PROBE_SUBSCRIPTION_KEY", "PROBE_TIMEOUT"]);
    expect(problems[1]!.problem).toBe("is not read by the probe and is ignored: did you mean PROBE_TIMEOUT_MS?");
    // The near miss of a missing required setting is said once, on the missing one.
    const { PROBE_API_URL, ...withoutUrl } = VALID;
    expect(PROBE_API_URL).toBeDefined();
    const missing = problemsOf({ ...withoutUrl, PROBE_API_UR: VALID.PROBE_API_URL });
    expect(missing.map((p) => p.setting)).toEqual(["PROBE_API_URL"]);
    expect(missing[0]!.problem).toContain("PROBE_API_UR is set: is it misspelt?");
  });

  it("known names, names read elsewhere and key settings a targets file names are not warned about", () => {
    expect(
      loadSettings(
        {
          ...VALID,
          PROBE_SCHEDULE: "0 */5 * * * *",
          PROBE_STATE_DIR: "/tmp/x",
          OTHER_SETTING: "1",
          // The environment's own names, near none of the probe's.
          NODE_OPTIONS: "--max-old-space-size=512",
          REGION_NAMES: "x",
          APPSETTING_APPLICATIONINSIGHTS_CONNECTION_STRING: "x",
        },
        { cwd: dir },
      ).settingWarnings,
    ).toBeUndefined();
    const targets = file(
      "named-key.json",
      JSON.stringify({
        targets: [
          {
            name: "orders",
            url: VALID.PROBE_API_URL,
            scope: VALID.PROBE_API_SCOPE,
            subscriptionKeySetting: "PROBE_ORDERS_KEY",
          },
        ],
      }),
    );
    const { PROBE_API_URL: _u, PROBE_API_SCOPE: _s, PROBE_SUBSCRIPTION_KEY: _k, ...rest } = VALID;
    expect(
      loadSettings({ ...rest, PROBE_TARGETS_FILE: targets, PROBE_ORDERS_KEY: CANARY_KEY }, { cwd: dir })
        .settingWarnings,
    ).toBeUndefined();
  });

  it("an unknown name far from every known one is still warned about", () => {
    const warnings = loadSettings({ ...VALID, PROBE_SOMETHING_ELSE_ENTIRELY: "1" }, { cwd: dir }).settingWarnings;
    expect(warnings).toHaveLength(1);
    expect(warnings![0]).toContain("PROBE_SOMETHING_ELSE_ENTIRELY is not read");
  });

  it("a missing required setting names the near-miss that is set", () => {
    const { PROBE_TENANT_ID: tenant, PROBE_API_SCOPE: scope, ...rest } = VALID;
    const problems = problemsOf({ ...rest, PROBE_TENANTID: tenant, PROBE_API_SCOPES: scope });
    expect(problems.find((p) => p.setting === "PROBE_TENANT_ID")?.problem).toMatch(
      /is required.*PROBE_TENANTID is set/,
    );
    expect(problems.find((p) => p.setting === "PROBE_API_SCOPE")?.problem).toMatch(
      /is required.*PROBE_API_SCOPES is set/,
    );
  });
});

describe("loadSettings: the run's budget and concurrency", () => {
  it("are settable and bounded", () => {
    expect(
      loadSettings({ ...VALID, PROBE_RUN_BUDGET_MS: "60000", PROBE_TARGET_CONCURRENCY: "8" }, { cwd: dir }),
    ).toMatchObject({ runBudgetMs: 60_000, targetConcurrency: 8 });
    expect(loadSettings(VALID, { cwd: dir })).toMatchObject({ targetConcurrency: 4 });
    expect(loadSettings(VALID, { cwd: dir }).runBudgetMs).toBeUndefined();
    expect(problemsOf({ ...VALID, PROBE_RUN_BUDGET_MS: "600000" }).map((p) => p.setting)).toEqual([
      "PROBE_RUN_BUDGET_MS",
    ]);
    expect(problemsOf({ ...VALID, PROBE_TARGET_CONCURRENCY: "0" }).map((p) => p.setting)).toEqual([
      "PROBE_TARGET_CONCURRENCY",
    ]);
  });
});
