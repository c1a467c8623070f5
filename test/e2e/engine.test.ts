import { afterEach, describe, expect, it } from "vitest";
import { createProbeDispatcher } from "../../src/core/http/dispatcher.js";
import { createProbeEngine, type ProbeEngineOptions } from "../../src/core/probes/engine.js";
import { REJECTING_PROBES, type ProbeName } from "../../src/probe-matrix/names.js";
import type { Outcome, ProbeResult, RunReport } from "../../src/core/results/types.js";
import { loadSettings } from "../../src/core/settings/load-settings.js";
import type { ProbeConfig } from "../../src/core/settings/types.js";
import { createMsalTokenSource } from "../../src/core/tokens/token-source.js";
import { request } from "undici";
import { PROBE_MANAGED_IDENTITY } from "../../src/sandbox/identities.js";
import { startSandbox, type Sandbox, type SandboxOptions } from "../../src/sandbox/index.js";
import { movableClock } from "../support/clock.js";

let sandbox: Sandbox | undefined;
afterEach(async () => {
  await sandbox?.close();
  sandbox = undefined;
});

async function start(options: SandboxOptions, env: Record<string, string | undefined> = {}): Promise<ProbeConfig> {
  sandbox = await startSandbox(options);
  return loadSettings({ ...sandbox.settings, ...env });
}

async function runOnce(config: ProbeConfig, options: ProbeEngineOptions = {}): Promise<RunReport> {
  const engine = createProbeEngine(config, options);
  try {
    return await engine.run();
  } finally {
    await engine.close();
  }
}

const outcomes = (report: RunReport): Record<ProbeName, Outcome> =>
  Object.fromEntries(report.results.map((r) => [r.probe, r.outcome])) as Record<ProbeName, Outcome>;
const result = (report: RunReport, probe: ProbeName): ProbeResult => report.results.find((r) => r.probe === probe)!;
const withOutcome = (report: RunReport, outcome: Outcome): ProbeName[] =>
  report.results
    .filter((r) => r.outcome === outcome)
    .map((r) => r.probe)
    .sort();

const ALL_PASS: Record<ProbeName, Outcome> = {
  token: "pass",
  valid: "pass",
  "no-subscription-key": "pass",
  "invalid-subscription-key": "pass",
  "no-token": "pass",
  "wrong-audience": "pass",
  "expired-token": "skipped",
  "forged-signature": "pass",
  "alg-none": "pass",
  "unassigned-client": "pass",
  "tls-certificate": "pass",
  "credential-expiry": "pass",
};

describe("engine against the sandbox", () => {
  it("healthy: every probe passes; APIM's text, request ids and token summaries are reported", async () => {
    const report = await runOnce(await start({ scenario: "healthy" }));
    expect(outcomes(report)).toEqual(ALL_PASS);
    expect(report.summary.ok).toBe(true);
    expect(result(report, "token").token).toMatchObject({ ver: "2.0", roles: ["Api.Access"] });
    expect(result(report, "no-subscription-key").apimMessage).toContain("missing subscription key");
    expect(result(report, "unassigned-client")).toMatchObject({ outcome: "pass", cause: "AADSTS501051" });
    for (const r of report.results.filter((x) => x.actualStatus === 401)) expect(r.requestId, r.probe).toBeTruthy();
  });

  it("healthy with a certificate credential: every probe passes", async () => {
    sandbox = await startSandbox({ scenario: "healthy" });
    const config = loadSettings({
      ...sandbox.settings,
      PROBE_CLIENT_SECRET: undefined,
      PROBE_CLIENT_CERTIFICATE_PATH: sandbox.clientCertificateFile,
    });
    expect(config.credential.kind).toBe("certificate");
    expect(outcomes(await runOnce(config))).toEqual(ALL_PASS);
  });

  it("healthy with PROBE_CREDENTIAL=managed-identity: the MI token is the federated client assertion", async () => {
    sandbox = await startSandbox({ scenario: "healthy" });
    const settings = sandbox.settings;
    const config = loadSettings({
      ...settings,
      PROBE_CLIENT_SECRET: undefined,
      PROBE_CREDENTIAL: "managed-identity",
      PROBE_MANAGED_IDENTITY_CLIENT_ID: PROBE_MANAGED_IDENTITY.clientId,
    });
    const dispatcher = createProbeDispatcher({ extraCaPem: config.extraCaPem });
    let asked = "";
    // The App Service managed-identity protocol (docs/REFERENCE.md §6), as @azure/identity speaks it.
    const managedIdentity = {
      async getToken(scope: string) {
        asked = scope;
        const url = new URL(settings.IDENTITY_ENDPOINT!);
        url.search = new URLSearchParams({
          "api-version": "2019-08-01",
          resource: scope.replace("/.default", ""),
          client_id: PROBE_MANAGED_IDENTITY.clientId,
        }).toString();
        const res = await request(url, { dispatcher, headers: { "x-identity-header": settings.IDENTITY_HEADER! } });
        const body = (await res.body.json()) as { access_token: string };
        return { token: body.access_token };
      },
    };
    const report = await runOnce(config, { dispatcher, managedIdentity });
    await dispatcher.close();
    expect(asked).toBe("api://AzureADTokenExchange/.default");
    expect(outcomes(report)).toEqual(ALL_PASS);
  });

  it("fail-open: security for exactly the token probes that got in", async () => {
    const report = await runOnce(await start({ scenario: "fail-open" }));
    expect(withOutcome(report, "security")).toEqual(["alg-none", "forged-signature", "no-token", "wrong-audience"]);
    expect(result(report, "valid").outcome).toBe("pass");
    // The key is still checked, and Entra still refuses the unassigned client.
    expect(result(report, "no-subscription-key").outcome).toBe("pass");
    expect(result(report, "unassigned-client").outcome).toBe("pass");
    expect(report.summary.ok).toBe(false);
  });

  it("assignment-not-required: security for unassigned-client only", async () => {
    const report = await runOnce(await start({ scenario: "assignment-not-required" }));
    expect(withOutcome(report, "security")).toEqual(["unassigned-client"]);
    expect(result(report, "unassigned-client").actualStatus).toBe(200);
    expect(result(report, "unassigned-client").token?.roles).toBeUndefined();
  });

  it("no-subscription-required: the key-less request gets in; a wrong key is still refused, as APIM does", async () => {
    const report = await runOnce(await start({ scenario: "no-subscription-required" }));
    expect(withOutcome(report, "security")).toEqual(["no-subscription-key"]);
    expect(result(report, "invalid-subscription-key")).toMatchObject({ outcome: "pass", actualStatus: 401 });
    expect(result(report, "valid").outcome).toBe("pass");
  });

  it("invalid-secret: token-dependent probes blocked with AADSTS7000215, the others still run", async () => {
    const report = await runOnce(await start({ scenario: "invalid-secret" }));
    expect(result(report, "token")).toMatchObject({ outcome: "fail", cause: "AADSTS7000215", actualStatus: 401 });
    expect(withOutcome(report, "blocked")).toEqual([
      "alg-none",
      "forged-signature",
      "invalid-subscription-key",
      "no-subscription-key",
      "valid",
      "wrong-audience",
    ]);
    for (const p of withOutcome(report, "blocked")) expect(result(report, p).cause).toBe("AADSTS7000215");
    expect(result(report, "no-token").outcome).toBe("pass");
    expect(result(report, "unassigned-client").outcome).toBe("pass");
  });

  it.each([
    ["v1-token-issuer-mismatch", 401],
    ["missing-role", 401],
    ["backend-error", 500],
  ] as const)("%s: valid fails with %i and nothing is open", async (scenario, status) => {
    const report = await runOnce(await start({ scenario }));
    expect(result(report, "valid")).toMatchObject({ outcome: "fail", actualStatus: status });
    expect(withOutcome(report, "security")).toEqual([]);
  });

  it("slow-backend: valid ends at the deadline with error (timeout); the run does not wait for the backend", async () => {
    // The scenario's backend takes 30 s against a 2 s deadline; closing the sandbox cuts its wait short.
    const config = await start({ scenario: "slow-backend" });
    expect(config.timeoutMs).toBe(2_000);
    const report = await runOnce(config);
    // An order, not a speed: the run was over before the hung backend had answered anything.
    expect(sandbox!.gateway.takeBackendDelays()).toEqual([]);
    expect(result(report, "valid")).toMatchObject({ outcome: "error", cause: "timeout" });
    expect(result(report, "valid").durationMs).toBeGreaterThanOrEqual(config.timeoutMs);
    for (const p of REJECTING_PROBES.filter((p) => p !== "expired-token"))
      expect(result(report, p).outcome, p).toBe("pass");
  });

  it("expired-token: a token the engine harvested itself, once past exp + margin", async () => {
    const clock = movableClock();
    const config = await start({ scenario: "healthy", tokenLifetimeSeconds: 2, now: clock.now });
    const engine = createProbeEngine(config, { expiredTokenMarginMs: 1_000, now: clock.now });
    try {
      const first = await engine.run();
      expect(result(first, "expired-token").outcome).toBe("skipped");
      clock.advance(3_200);
      const second = await engine.run({ probes: ["expired-token"] });
      expect(second.results[0]).toMatchObject({ outcome: "pass", actualStatus: 401 });
      expect(second.results[0]!.message).toContain("acquired earlier");
      expect(second.results[0]!.token!.exp! * 1000).toBeLessThan(clock.now());
    } finally {
      await engine.close();
    }
  });

  it("expired-token: from PROBE_EXPIRED_TOKEN when none has aged yet", async () => {
    const clock = movableClock();
    const config = await start({ scenario: "healthy", tokenLifetimeSeconds: 2, now: clock.now });
    const dispatcher = createProbeDispatcher({ extraCaPem: config.extraCaPem });
    const old = await createMsalTokenSource(config, { dispatcher }).acquire("probe", config.targets[0]!.scope!);
    await dispatcher.close();
    clock.advance(2_500);
    const engine = createProbeEngine(
      loadSettings({ ...sandbox!.settings, PROBE_EXPIRED_TOKEN: old.accessToken.reveal() }),
      { now: clock.now },
    );
    const report = await engine.run({ probes: ["expired-token"] }).finally(() => engine.close());
    expect(report.results[0]).toMatchObject({ outcome: "pass", actualStatus: 401 });
    expect(report.results[0]!.message).toContain("PROBE_EXPIRED_TOKEN");
  });

  it("a warm engine makes one token request per client and scope per token lifetime", async () => {
    const config = await start({ scenario: "healthy" });
    const engine = createProbeEngine(config);
    try {
      const issued = () => sandbox!.entra.tokenRequests().filter((r) => r.outcome === "issued");
      await engine.run();
      // The API's, the wrong-audience one, and Microsoft Graph's (credential-expiry reads the registration there).
      expect(
        issued()
          .map((r) => r.scope)
          .sort(),
      ).toEqual([config.targets[0]!.scope, config.wrongAudienceScope, "https://graph.microsoft.com/.default"].sort());
      await engine.run();
      await engine.run();
      expect(issued()).toHaveLength(3);
      // Entra's refusal of the unassigned client is remembered (REFUSAL_MEMORY_MS), not asked again each run.
      expect(sandbox!.entra.tokenRequests().filter((r) => r.outcome === "refused")).toHaveLength(1);
    } finally {
      await engine.close();
    }
  });

  it("a plain-text 429 from the token endpoint is reported as throttled", async () => {
    const config = await start({ scenario: "healthy" });
    sandbox!.entra.throttleNext(10, 30);
    const report = await runOnce(config);
    expect(result(report, "token")).toMatchObject({ outcome: "fail", cause: "throttled", actualStatus: 429 });
    expect(result(report, "valid")).toMatchObject({ outcome: "blocked", cause: "throttled" });
  });
});
