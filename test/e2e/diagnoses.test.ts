import { randomBytes, randomUUID } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { SettingsError } from "../../src/core/errors.js";
import { createProbeDispatcher } from "../../src/core/http/dispatcher.js";
import { createProbeEngine } from "../../src/core/probes/engine.js";
import type { ProbeName } from "../../src/probe-matrix/names.js";
import { renderJson } from "../../src/core/results/json.js";
import { renderJunit } from "../../src/core/results/junit.js";
import { renderTable } from "../../src/core/results/table.js";
import type { Diagnosis, ProbeResult, RunReport } from "../../src/core/results/types.js";
import { loadSettings } from "../../src/core/settings/load-settings.js";
import type { ProbeConfig } from "../../src/core/settings/types.js";
import { toAvailabilityItems } from "../../src/core/telemetry/availability.js";
import { createMsalTokenSource } from "../../src/core/tokens/token-source.js";
import { ORDERS_API, PROBE_CLIENT, SANDBOX_TENANT_ID, UNASSIGNED_CLIENT } from "../../src/sandbox/identities.js";
import { ordersApiPolicyXml } from "../../src/sandbox/index.js";
import { resultOf, runOnce, sandboxPerTest, settingsOf } from "./support.js";
import { movableClock } from "../support/clock.js";

const V1_ISSUER = `https://sts.windows.net/${SANDBOX_TENANT_ID}/`;
const V2_ISSUER = `https://login.microsoftonline.com/${SANDBOX_TENANT_ID}/v2.0`;

const sandboxFor = sandboxPerTest();
const tempDirs: string[] = [];
afterEach(async () => {
  await Promise.all(tempDirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

/** The target names the API's policy, as a targets file's `policyFile` does. */
function withPolicy(config: ProbeConfig, policyFile: string): ProbeConfig {
  return { ...config, targets: config.targets.map((t) => ({ ...t, policyFile })) };
}

const diagnosisOf = (report: RunReport, probe: ProbeName): Diagnosis => {
  const diagnosis = resultOf(report, probe).diagnosis;
  if (!diagnosis) throw new Error(`${probe} (${resultOf(report, probe).outcome}) carries no diagnosis`);
  return diagnosis;
};

describe("diagnoses of sandbox scenarios, end to end", () => {
  it("healthy: nothing to explain, the unassigned client's AADSTS501051 is a pass without a diagnosis", async () => {
    const report = await runOnce(settingsOf(await sandboxFor()));
    expect(report.results.filter((r) => r.diagnosis).map((r) => r.probe)).toEqual([]);
    expect(resultOf(report, "unassigned-client")).toMatchObject({ outcome: "pass", cause: "AADSTS501051" });
  });

  it("fail-open (no token validation at all): one cause and one fix with the tenant's values, on every probe that got in", async () => {
    const report = await runOnce(settingsOf(await sandboxFor({ scenario: "fail-open" })));
    for (const probe of ["no-token", "wrong-audience", "forged-signature", "alg-none"] as const) {
      expect(diagnosisOf(report, probe).cause, probe).toBe("no-token-validation");
    }
    const fixes = new Set(
      ["no-token", "wrong-audience", "forged-signature", "alg-none"].map(
        (p) => diagnosisOf(report, p as ProbeName).fix,
      ),
    );
    expect(fixes.size).toBe(1);
    const [fix] = [...fixes];
    expect(fix).toContain(`tenant-id="${SANDBOX_TENANT_ID}"`);
    expect(fix).toContain(
      `https://login.microsoftonline.com/${SANDBOX_TENANT_ID}/v2.0/.well-known/openid-configuration`,
    );
    // No advice about attributes of an element that is not there.
    expect(fix).not.toContain("require-signed-tokens");
    expect(resultOf(report, "valid").diagnosis).toBeUndefined();
    // The table says it once.
    const table = renderTable(report, { color: false, width: 400 });
    expect(table.match(/-> no-token-validation/g)).toHaveLength(1);
  });

  it("gateway-open names the one missing check when tokens are validated but a rule is missing", async () => {
    const noAudiences = ordersApiPolicyXml({ requireRole: false }).replace(/<audiences>[\s\S]*?<\/audiences>/, "");
    const report = await runOnce(settingsOf(await sandboxFor({ policyXml: noAudiences })));
    expect(resultOf(report, "no-token").outcome).toBe("pass");
    expect(diagnosisOf(report, "wrong-audience")).toMatchObject({
      cause: "gateway-open",
      evidence: { missingCheck: "audience" },
    });
    expect(diagnosisOf(report, "wrong-audience").evidence?.receivedAudience).toBe(PROBE_CLIENT.clientId);
  });

  it("assignment-not-required: gateway-open on unassigned-client with its client and its (absent) roles", async () => {
    const report = await runOnce(settingsOf(await sandboxFor({ scenario: "assignment-not-required" })));
    expect(diagnosisOf(report, "unassigned-client")).toMatchObject({
      cause: "gateway-open",
      evidence: { missingCheck: "role", client: UNASSIGNED_CLIENT.clientId, receivedRoles: "none" },
    });
  });

  it("no-subscription-required: subscription-not-required on the key-less probe, while a wrong key is still refused (the cross-probe rule)", async () => {
    const report = await runOnce(settingsOf(await sandboxFor({ scenario: "no-subscription-required" })));
    expect(diagnosisOf(report, "no-subscription-key").cause).toBe("subscription-not-required");
    expect(resultOf(report, "invalid-subscription-key")).toMatchObject({ outcome: "pass", actualStatus: 401 });
  });

  it("v1-token-issuer-mismatch with the policy: issuer-mismatch, v1 received vs v2 expected, accessTokenAcceptedVersion fix", async () => {
    const sandbox = await sandboxFor({ scenario: "v1-token-issuer-mismatch" });
    const report = await runOnce(withPolicy(settingsOf(sandbox), sandbox.policyFile));
    const diagnosis = diagnosisOf(report, "valid");
    expect(diagnosis.cause).toBe("issuer-mismatch");
    expect(diagnosis.evidence).toMatchObject({
      preflightReason: "TokenIssuerNotAllowed",
      receivedIssuer: V1_ISSUER,
      expectedIssuer: V2_ISSUER,
      tokenVersion: "1",
      expectedVersion: "2",
      actualStatus: "401",
    });
    expect(diagnosis.fix).toContain("accessTokenAcceptedVersion");
  });

  it("v1-token-issuer-mismatch without a policy: settings accept both issuers, so the refusal is explained by what the token says", async () => {
    const report = await runOnce(
      settingsOf(await sandboxFor({ scenario: "v1-token-issuer-mismatch" }), { PROBE_POLICY_FILE: undefined }),
    );
    expect(diagnosisOf(report, "valid")).toMatchObject({ cause: "token-refused", evidence: { actualStatus: "401" } });
    expect(diagnosisOf(report, "valid").evidence?.hypothesis1).toMatch(/^token-version: /);
  });

  it("missing-role through a targets file naming the policy: missing-role with the required role and the token's roles", async () => {
    const sandbox = await sandboxFor({ scenario: "missing-role" });
    const dir = await mkdtemp(join(tmpdir(), "diagnoses-"));
    tempDirs.push(dir);
    const targetsFile = join(dir, "targets.json");
    // Relative to the targets file, as users write it (a random temp path would read like a secret).
    await writeFile(join(dir, "orders.policy.xml"), await readFile(sandbox.policyFile, "utf8"));
    const s = sandbox.settings;
    await writeFile(
      targetsFile,
      JSON.stringify({
        targets: [
          {
            name: "orders",
            url: s.PROBE_API_URL,
            scope: s.PROBE_API_SCOPE,
            subscriptionKeySetting: "ORDERS_KEY",
            policyFile: "orders.policy.xml",
          },
        ],
      }),
    );
    const config = loadSettings({
      ...s,
      PROBE_API_URL: undefined,
      PROBE_API_METHOD: undefined,
      PROBE_API_SCOPE: undefined,
      PROBE_SUBSCRIPTION_KEY: undefined,
      PROBE_POLICY_FILE: undefined,
      ORDERS_KEY: s.PROBE_SUBSCRIPTION_KEY,
      PROBE_TARGETS_FILE: targetsFile,
    });
    const report = await runOnce(config);
    expect(diagnosisOf(report, "valid")).toMatchObject({
      cause: "missing-role",
      evidence: {
        preflightReason: "TokenClaimNotFound",
        expectedRole: ORDERS_API.role,
        receivedRoles: "none",
        client: PROBE_CLIENT.clientId,
      },
    });
  });

  it("invalid-secret: invalid-client-secret (AADSTS7000215) on token and on every probe it blocked, naming the client", async () => {
    const report = await runOnce(settingsOf(await sandboxFor({ scenario: "invalid-secret" })));
    expect(diagnosisOf(report, "token")).toMatchObject({
      cause: "invalid-client-secret",
      evidence: { aadsts: "7000215", clientId: PROBE_CLIENT.clientId, tenant: SANDBOX_TENANT_ID, tokenStatus: "401" },
    });
    expect(diagnosisOf(report, "token").fix).toContain("PROBE_CLIENT_SECRET");
    for (const r of report.results.filter((x) => x.outcome === "blocked"))
      expect(r.diagnosis?.cause, r.probe).toBe("invalid-client-secret");
  });

  it("backend-error: backend-error, told from the gateway by the answer's body", async () => {
    const report = await runOnce(settingsOf(await sandboxFor({ scenario: "backend-error" })));
    expect(diagnosisOf(report, "valid")).toMatchObject({
      cause: "backend-error",
      evidence: { answeredBy: "backend", actualStatus: "500" },
    });
  });

  it("an unreachable backend: gateway-error, APIM's own 500 told from a backend's", async () => {
    const sandbox = await sandboxFor();
    sandbox.gateway.setBackend({ unreachable: true });
    const report = await runOnce(settingsOf(sandbox), {}, ["token", "valid"]);
    expect(diagnosisOf(report, "valid")).toMatchObject({
      cause: "gateway-error",
      evidence: { answeredBy: "gateway", actualStatus: "500" },
    });
    expect(sandbox.gateway.requests().at(-1)).toMatchObject({ status: 500, reason: "BackendConnectionFailure" });
  });

  it("slow-backend: timeout on valid", async () => {
    const report = await runOnce(
      settingsOf(await sandboxFor({ scenario: "slow-backend", backendLatencyMs: 5_000 })),
      {},
      ["token", "valid"],
    );
    expect(diagnosisOf(report, "valid")).toMatchObject({ cause: "timeout", evidence: { transport: "timeout" } });
  });
});

describe("diagnoses of Entra refusals, end to end", () => {
  it("client-not-assigned: the token probe with the unassigned client's credentials gets AADSTS501051", async () => {
    const sandbox = await sandboxFor();
    const config = settingsOf(sandbox, {
      PROBE_CLIENT_ID: UNASSIGNED_CLIENT.clientId,
      PROBE_CLIENT_SECRET: sandbox.settings.PROBE_UNASSIGNED_CLIENT_SECRET,
    });
    const report = await runOnce(config, {}, ["token", "valid"]);
    expect(diagnosisOf(report, "token")).toMatchObject({
      cause: "client-not-assigned",
      evidence: { aadsts: "501051", clientId: UNASSIGNED_CLIENT.clientId },
    });
    expect(diagnosisOf(report, "valid").cause).toBe("client-not-assigned");
  });

  it("throttled: a 429 from the token endpoint, with its Retry-After", async () => {
    const sandbox = await sandboxFor();
    sandbox.entra.throttleNext(10, 30);
    const report = await runOnce(settingsOf(sandbox), {}, ["token", "valid"]);
    expect(diagnosisOf(report, "token")).toMatchObject({
      cause: "throttled",
      evidence: { tokenStatus: "429", retryAfterSeconds: "30" },
    });
  });

  it("unknown-resource: a scope for an App ID URI the tenant lacks (AADSTS500011)", async () => {
    const scope = "api://no-such-api/.default";
    const report = await runOnce(settingsOf(await sandboxFor(), { PROBE_API_SCOPE: scope }), {}, ["token"]);
    expect(diagnosisOf(report, "token")).toMatchObject({
      cause: "unknown-resource",
      evidence: { aadsts: "500011", scope },
    });
  });

  it("invalid-scope: a scope without /.default is refused by the settings at start, before any token request", async () => {
    const sandbox = await sandboxFor();
    let thrown: unknown;
    try {
      settingsOf(sandbox, { PROBE_API_SCOPE: `${ORDERS_API.appIdUri}/access` });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(SettingsError);
    expect((thrown as SettingsError).problems.map((p) => p.setting)).toEqual(["PROBE_API_SCOPE"]);
    expect(sandbox.entra.tokenRequests()).toHaveLength(0);
  });

  it("unknown-tenant: a tenant id Entra does not know (AADSTS90002)", async () => {
    const tenant = randomUUID();
    const report = await runOnce(settingsOf(await sandboxFor(), { PROBE_TENANT_ID: tenant }), {}, ["token"]);
    // MSAL stops at the tenant's metadata document (400, AADSTS90002) before any token request.
    expect(diagnosisOf(report, "token")).toMatchObject({
      cause: "unknown-tenant",
      evidence: { tenant, tokenStatus: "400" },
    });
  });

  it("unknown-client: a client id the tenant does not have (AADSTS700016)", async () => {
    const client = randomUUID();
    const report = await runOnce(settingsOf(await sandboxFor(), { PROBE_CLIENT_ID: client }), {}, ["token"]);
    expect(diagnosisOf(report, "token")).toMatchObject({
      cause: "unknown-client",
      evidence: { aadsts: "700016", clientId: client },
    });
  });

  it("client-secret-expired: 181 days later the probe's 180-day secret has expired (AADSTS7000222)", async () => {
    const clock = movableClock();
    const sandbox = await sandboxFor({ now: clock.now });
    clock.advance(181 * 24 * 3600 * 1000);
    const report = await runOnce(settingsOf(sandbox), { now: clock.now }, ["token"]);
    expect(diagnosisOf(report, "token")).toMatchObject({
      cause: "client-secret-expired",
      evidence: { aadsts: "7000222", clientId: PROBE_CLIENT.clientId },
    });
  });
});

describe("diagnoses of tokens and keys, end to end", () => {
  it("signing-key-unknown: an expired PROBE_EXPIRED_TOKEN whose key has rotated away passes but proves nothing", async () => {
    const clock = movableClock();
    const sandbox = await sandboxFor({ tokenLifetimeSeconds: 2, now: clock.now });
    const config = withPolicy(settingsOf(sandbox), sandbox.policyFile);
    const dispatcher = createProbeDispatcher({ extraCaPem: config.extraCaPem });
    const old = await createMsalTokenSource(config, { dispatcher })
      .acquire("probe", config.targets[0]!.scope!)
      .finally(() => dispatcher.close());
    // The tenant publishes two keys; two rotations retire the one the token was signed with.
    sandbox.entra.rotateSigningKeys();
    sandbox.entra.rotateSigningKeys();
    clock.advance(2_500);
    const withToken = withPolicy(
      settingsOf(sandbox, { PROBE_EXPIRED_TOKEN: old.accessToken.reveal() }),
      sandbox.policyFile,
    );
    const report = await runOnce(withToken, { now: clock.now }, ["expired-token"]);
    const result = resultOf(report, "expired-token");
    expect(result).toMatchObject({ outcome: "pass", actualStatus: 401 });
    const kid = result.token!.kid!;
    expect(result.diagnosis).toMatchObject({ cause: "signing-key-unknown", evidence: { kid } });
    expect(result.diagnosis!.evidence!.jwksKids!.split(", ")).not.toContain(kid);
  });

  it("audience-mismatch: with the policy, a token for another audience is explained by the preflight", async () => {
    const sandbox = await sandboxFor();
    // The probe's own app: a tenant-signed token for another audience (a Graph token would fail its signature first).
    const config = withPolicy(
      settingsOf(sandbox, { PROBE_API_SCOPE: `${PROBE_CLIENT.clientId}/.default` }),
      sandbox.policyFile,
    );
    const report = await runOnce(config, {}, ["token", "valid"]);
    const diagnosis = diagnosisOf(report, "valid");
    expect(diagnosis).toMatchObject({
      cause: "audience-mismatch",
      evidence: { preflightReason: "TokenAudienceNotAllowed", actualStatus: "401" },
    });
    expect(diagnosis.evidence!.expectedAudience!.split(", ").sort()).toEqual(
      [ORDERS_API.appIdUri, ORDERS_API.clientId].sort(),
    );
    expect(diagnosis.evidence!.receivedAudience).not.toContain(ORDERS_API.appIdUri);
  });

  it("token-expired: a cached token the gateway's clock already sees as expired (probe host clock behind)", async () => {
    const clock = movableClock();
    const sandbox = await sandboxFor({ now: clock.now });
    const engine = createProbeEngine(settingsOf(sandbox), { now: clock.now });
    try {
      expect(resultOf(await engine.run({ probes: ["token", "valid"] }), "valid").outcome).toBe("pass");
      // MSAL keeps the token by the host's real clock; the gateway and the engine now read 2 h later.
      clock.advance(2 * 3600 * 1000);
      const report = await engine.run({ probes: ["valid"] });
      const diagnosis = diagnosisOf(report, "valid");
      expect(diagnosis).toMatchObject({ cause: "token-expired", evidence: { actualStatus: "401" } });
      expect(Number(diagnosis.evidence!.expiredForSeconds)).toBeGreaterThan(3_000);
    } finally {
      await engine.close();
    }
  });
});

describe("diagnoses of keys and transport, end to end", () => {
  it("missing-subscription-key: no key configured for an API that requires one", async () => {
    const report = await runOnce(settingsOf(await sandboxFor(), { PROBE_SUBSCRIPTION_KEY: undefined }), {}, [
      "token",
      "valid",
    ]);
    expect(diagnosisOf(report, "valid")).toMatchObject({
      cause: "missing-subscription-key",
      evidence: { actualStatus: "401" },
    });
  });

  it("invalid-subscription-key: a key no subscription has", async () => {
    const report = await runOnce(
      settingsOf(await sandboxFor(), { PROBE_SUBSCRIPTION_KEY: randomBytes(16).toString("hex") }),
      {},
      ["token", "valid"],
    );
    expect(diagnosisOf(report, "valid")).toMatchObject({
      cause: "invalid-subscription-key",
      evidence: { actualStatus: "401" },
    });
  });

  it("dns-error: an API host that does not resolve", async () => {
    const report = await runOnce(
      settingsOf(await sandboxFor(), { PROBE_API_URL: "https://nonexistent.invalid/" }),
      {},
      ["token", "valid", "no-token"],
    );
    expect(resultOf(report, "token").diagnosis).toBeUndefined();
    expect(diagnosisOf(report, "valid")).toMatchObject({ cause: "dns-error", evidence: { transport: "dns" } });
    expect(diagnosisOf(report, "no-token").cause).toBe("dns-error");
  });

  it("tls-error: an API whose certificate chains to a CA the probe does not trust (a second sandbox)", async () => {
    const sandbox = await sandboxFor();
    const other = await sandboxFor();
    const report = await runOnce(settingsOf(sandbox, { PROBE_API_URL: other.apiUrls[0]! }), {}, [
      "token",
      "valid",
      "no-token",
    ]);
    expect(resultOf(report, "token").outcome).toBe("pass");
    expect(diagnosisOf(report, "valid")).toMatchObject({ cause: "tls-error", evidence: { transport: "tls" } });
    expect(diagnosisOf(report, "no-token").cause).toBe("tls-error");
  });
});

describe("the diagnosis in every rendering", () => {
  it("table, JUnit, JSON and the availability result carry the cause code", async () => {
    const report = await runOnce(settingsOf(await sandboxFor({ scenario: "invalid-secret" })), {}, [
      "token",
      "valid",
      "no-token",
    ]);
    const table = renderTable(report, { color: false, width: 400 }).split("\n");
    const tokenRow = table.findIndex((l) => /^default\s+token\s/.test(l));
    expect(table[tokenRow + 1]).toMatch(/^\s+-> invalid-client-secret: /);
    expect(table[tokenRow + 2]).toMatch(/^\s+fix: /);
    // The blocked row names the root cause once, without repeating the diagnosis under it.
    const validRow = table.findIndex((l) => /^default\s+valid\s/.test(l));
    expect(table[validRow]).toMatch(/blocked by token: invalid-client-secret$/);
    expect(table[validRow + 1] ?? "").not.toMatch(/^\s+->/);
    // The passing row has no diagnosis lines under it.
    const noTokenRow = table.findIndex((l) => /^default\s+no-token\s/.test(l));
    expect(table[noTokenRow + 1] ?? "").not.toMatch(/^\s+->/);

    expect(renderJunit(report)).toMatch(/<failure message="\[invalid-client-secret\] /);

    const json = JSON.parse(renderJson(report)) as { results: ProbeResult[] };
    expect(json.results.find((r) => r.probe === "valid")?.cause).toBe("invalid-client-secret");

    const { items } = toAvailabilityItems(report, "sandbox", randomUUID);
    const byName = new Map(items.map((i) => [i.name, i]));
    expect(byName.get("default/token")?.properties.cause).toBe("invalid-client-secret");
    expect(byName.get("default/valid")?.properties.cause).toBe("invalid-client-secret");
    expect(byName.get("default/no-token")?.properties.cause).toBeUndefined();
  });
});
