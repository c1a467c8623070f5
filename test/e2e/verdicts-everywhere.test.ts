import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { request } from "undici";
import { describe, expect, it } from "vitest";
import { runCli } from "../../src/cli/cli.js";
import type { CliIo } from "../../src/cli/io.js";
import { createProbeDispatcher } from "../../src/core/http/dispatcher.js";
import type { RunReport } from "../../src/core/results/types.js";
import type { ProbeConfig } from "../../src/core/settings/types.js";
import { CLOUD_NAMES, CLOUDS } from "../../src/entra/clouds.js";
import { GRAPH, PROBE_MANAGED_IDENTITY, SANDBOX_TENANT_ID } from "../../src/sandbox/identities.js";
import { ordersApiPolicyXml, type Sandbox } from "../../src/sandbox/index.js";
import { HOST_CLOCK_MARGIN_MS, UNKNOWN_POLICY_CLOCK_SKEW_MS } from "../../src/core/tokens/expired-token-store.js";
import { movableClock } from "../support/clock.js";
import { resultOf, runOnce, sandboxPerTest, settingsOf } from "./support.js";

// Verdicts and diagnoses right in every cloud and for every endpoint. One describe per
// finding; each test fails on the code before the issue.

const sandboxFor = sandboxPerTest();

const outcomes = (report: RunReport) => Object.fromEntries(report.results.map((r) => [r.probe, r.outcome]));

/** The App Service managed-identity protocol against the sandbox, as @azure/identity speaks it. */
function managedIdentityOf(sandbox: Sandbox, config: ProbeConfig, asked: string[]) {
  const dispatcher = createProbeDispatcher({ extraCaPem: config.extraCaPem });
  return {
    dispatcher,
    managedIdentity: {
      async getToken(scope: string) {
        asked.push(scope);
        const url = new URL(sandbox.settings.IDENTITY_ENDPOINT!);
        url.search = new URLSearchParams({
          "api-version": "2019-08-01",
          resource: scope.replace("/.default", ""),
          client_id: PROBE_MANAGED_IDENTITY.clientId,
        }).toString();
        const res = await request(url, {
          dispatcher,
          headers: { "x-identity-header": sandbox.settings.IDENTITY_HEADER! },
        });
        const body = (await res.body.json()) as { access_token: string };
        return { token: body.access_token };
      },
    },
  };
}

describe("finding 1: every national cloud, from the tenant's own discovery documents", () => {
  it.each(CLOUD_NAMES)("%s: healthy passes everywhere, with the cloud's issuer in the token", async (cloud) => {
    const sandbox = await sandboxFor({ cloud });
    const report = await runOnce(settingsOf(sandbox), {}, [
      "token",
      "valid",
      "no-token",
      "wrong-audience",
      "forged-signature",
      "alg-none",
      "unassigned-client",
    ]);
    expect(
      Object.values(outcomes(report)).every((o) => o === "pass"),
      JSON.stringify(outcomes(report)),
    ).toBe(true);
    expect(resultOf(report, "token").token?.iss).toBe(
      `https://${CLOUDS[cloud].v2IssuerHost}/${SANDBOX_TENANT_ID}/v2.0`,
    );
  });

  it.each(CLOUD_NAMES)(
    "%s: a managed identity's federated credential uses the cloud's token-exchange audience",
    async (cloud) => {
      const sandbox = await sandboxFor({ cloud });
      const config = settingsOf(sandbox, {
        PROBE_CLIENT_SECRET: undefined,
        PROBE_CREDENTIAL: "managed-identity",
        PROBE_MANAGED_IDENTITY_CLIENT_ID: PROBE_MANAGED_IDENTITY.clientId,
      });
      const asked: string[] = [];
      const { dispatcher, managedIdentity } = managedIdentityOf(sandbox, config, asked);
      try {
        const report = await runOnce(config, { dispatcher, managedIdentity }, ["token", "valid"]);
        expect(outcomes(report)).toEqual({ token: "pass", valid: "pass" });
        expect(asked[0]).toBe(`${CLOUDS[cloud].federatedAudience}/.default`);
      } finally {
        await dispatcher.close();
      }
    },
  );

  it.each([
    ["with the policy", {}],
    ["without a policy", { PROBE_POLICY_FILE: undefined }],
  ] as const)(
    "usgov, the client lacks the role (%s): the real cause, never a false issuer-mismatch",
    async (_name, env) => {
      const sandbox = await sandboxFor({ cloud: "usgov", scenario: "missing-role" });
      const report = await runOnce(settingsOf(sandbox, env), {}, ["token", "valid"]);
      const diagnosis = resultOf(report, "valid").diagnosis;
      expect(diagnosis?.cause).not.toBe("issuer-mismatch");
      if ("PROBE_POLICY_FILE" in env) {
        expect(diagnosis?.cause).toBe("token-refused");
        expect(diagnosis?.evidence?.hypothesis1).toMatch(/^missing-role: /);
      } else {
        expect(diagnosis?.cause).toBe("missing-role");
      }
    },
  );

  it("offline: diagnose a US Government token against a US Government policy finds nothing wrong", async () => {
    const sandbox = await sandboxFor({ cloud: "usgov" });
    const dir = mkdtempSync(join(tmpdir(), "usgov-diag-"));
    let out = "";
    const io: CliIo = {
      env: {},
      cwd: dir,
      stdout: { write: (s: string) => (out += s) },
      stderr: { write: (s: string) => (out += s) },
    };
    expect(await runCli(["token", "--raw"], { ...io, env: sandbox.settings })).toBe(0);
    const { writeFileSync } = await import("node:fs");
    writeFileSync(join(dir, "token.txt"), out.trim());
    // The API's policy as written for Azure US Government (not the sandbox's loopback copy).
    writeFileSync(
      join(dir, "policy.xml"),
      ordersApiPolicyXml().replaceAll("login.microsoftonline.com", "login.microsoftonline.us"),
    );
    out = "";
    expect(await runCli(["diagnose", "--token-file", "token.txt", "--policy", "policy.xml"], io)).toBe(0);
    expect(out).toContain("no problem found");
  });
});

describe("finding 2: a wrong-audience token that isolates the audience rule", () => {
  /** A gateway that checks signatures, issuer and lifetime, but not the audience (nor a role). */
  const noAudienceRule = ordersApiPolicyXml({ requireRole: false }).replace(/<audiences>[\s\S]*?<\/audiences>/, "");

  it("by default the probe's own app: a gateway that never checks aud is caught (security)", async () => {
    const sandbox = await sandboxFor({ policyXml: noAudienceRule });
    const config = settingsOf(sandbox);
    expect(config.wrongAudienceScope).toBe(`${config.clientId}/.default`);
    const report = await runOnce(config, {}, ["token", "no-token", "wrong-audience"]);
    expect(resultOf(report, "no-token").outcome).toBe("pass");
    expect(resultOf(report, "wrong-audience")).toMatchObject({
      outcome: "security",
      diagnosis: { cause: "gateway-open", evidence: { missingCheck: "audience" } },
    });
  });

  it("a Graph token passes the same gateway for its signature alone, and the result says so", async () => {
    const sandbox = await sandboxFor({ policyXml: noAudienceRule });
    const report = await runOnce(
      settingsOf(sandbox, { PROBE_WRONG_AUDIENCE_SCOPE: `${GRAPH.appIdUri}/.default` }),
      {},
      ["token", "wrong-audience"],
    );
    const result = resultOf(report, "wrong-audience");
    expect(result.outcome).toBe("pass");
    expect(result.token?.firstParty).toBe(true);
    expect(result.diagnosis).toMatchObject({ cause: "audience-unproven" });
    expect(result.diagnosis?.summary).toMatch(/first-party/);
  });

  it("healthy: the own-app refusal proves the audience rule, no caveat", async () => {
    const sandbox = await sandboxFor();
    const report = await runOnce(settingsOf(sandbox), {}, ["token", "wrong-audience"]);
    expect(resultOf(report, "wrong-audience")).toMatchObject({ outcome: "pass" });
    expect(resultOf(report, "wrong-audience").diagnosis).toBeUndefined();
  });
});

describe("finding 3: a refusal without a policy still says what the token tells", () => {
  it("a v1 token refused with no policy: token-refused, token version first, with the accessTokenAcceptedVersion fix", async () => {
    const sandbox = await sandboxFor({ scenario: "v1-token-issuer-mismatch" });
    const report = await runOnce(settingsOf(sandbox, { PROBE_POLICY_FILE: undefined }), {}, ["token", "valid"]);
    const diagnosis = resultOf(report, "valid").diagnosis;
    expect(diagnosis?.cause).toBe("token-refused");
    expect(diagnosis?.evidence?.hypothesis1).toMatch(
      /^token-version: the token is v1 \(issuer https:\/\/sts\.windows\.net\//,
    );
    expect(diagnosis?.fix).toMatch(
      /^Most likely: In the API's app registration manifest set accessTokenAcceptedVersion to 2/,
    );
  });
});

describe("finding 4: each failure named at the endpoint where it happened", () => {
  it("a token endpoint that does not answer: token-endpoint-unavailable, not the backend's timeout", async () => {
    const sandbox = await sandboxFor();
    sandbox.entra.failNext(10, { kind: "no-answer" });
    const report = await runOnce(settingsOf(sandbox, { PROBE_TIMEOUT_MS: "500" }), {}, ["token", "valid"]);
    expect(resultOf(report, "token").diagnosis).toMatchObject({
      cause: "token-endpoint-unavailable",
      evidence: { transport: "timeout", endpoint: "token endpoint" },
    });
    expect(resultOf(report, "token").diagnosis?.fix).not.toMatch(/backend/i);
    expect(resultOf(report, "valid")).toMatchObject({
      outcome: "blocked",
      message: "blocked by token: token-endpoint-unavailable",
    });
  });

  it("an HTML 500 from the token endpoint is retried once; twice is token-endpoint-unavailable, not an AADSTS lookup", async () => {
    const sandbox = await sandboxFor();
    sandbox.entra.failNext(2, { kind: "html-5xx", status: 500 });
    const report = await runOnce(settingsOf(sandbox), {}, ["token"]);
    expect(resultOf(report, "token").diagnosis).toMatchObject({
      cause: "token-endpoint-unavailable",
      evidence: { tokenStatus: "500" },
    });
    expect(resultOf(report, "token").diagnosis?.fix).not.toMatch(/AADSTS/);
    expect(sandbox.entra.tokenRequests().filter((r) => r.outcome === "outage")).toHaveLength(2);
  });

  it("one HTML 500 is absorbed by the retry: the token is acquired", async () => {
    const sandbox = await sandboxFor();
    sandbox.entra.failNext(1, { kind: "html-5xx", status: 503 });
    const report = await runOnce(settingsOf(sandbox), {}, ["token", "valid"]);
    expect(outcomes(report)).toEqual({ token: "pass", valid: "pass" });
  });

  it("a managed-identity endpoint failure points at the identity, not at an AADSTS code", async () => {
    const sandbox = await sandboxFor();
    const config = settingsOf(sandbox, {
      PROBE_CLIENT_SECRET: undefined,
      PROBE_CREDENTIAL: "managed-identity",
      PROBE_MANAGED_IDENTITY_CLIENT_ID: PROBE_MANAGED_IDENTITY.clientId,
    });
    const managedIdentity = {
      getToken: () => Promise.reject(new Error("connect ECONNREFUSED 169.254.169.254:80")),
    };
    const report = await runOnce(config, { managedIdentity }, ["token"]);
    expect(resultOf(report, "token").diagnosis?.cause).toBe("managed-identity-unavailable");
    expect(resultOf(report, "token").diagnosis?.fix).toMatch(/identity/);
    expect(resultOf(report, "token").diagnosis?.fix).not.toMatch(/AADSTS/);
  });
});

describe("finding 6: the expired-token harvest works for any token lifetime", () => {
  it(
    "under watch against a 5-second token lifetime, expired-token runs once the first run's token has aged",
    { timeout: 60_000 },
    async () => {
      // The sandbox and the probe share a clock that jumps, as the first run ends, past that run's
      // token's exp plus the largest margin the probe may take: the next tick finds it aged, unwaited.
      const clock = movableClock();
      const sandbox = await sandboxFor({ tokenLifetimeSeconds: 5, now: clock.now });
      const { APPLICATIONINSIGHTS_CONNECTION_STRING: _i, ...env } = sandbox.settings;
      const stop = new AbortController();
      let stdout = "";
      const write = (s: string): boolean => {
        const firstRunEnds = !stdout.includes("\n") && s.includes("\n");
        stdout += s;
        if (firstRunEnds) clock.advance(5_000 + UNKNOWN_POLICY_CLOCK_SKEW_MS + HOST_CLOCK_MARGIN_MS + 1_000);
        return true;
      };
      const io: CliIo = {
        env,
        cwd: tmpdir(),
        now: clock.now,
        stdout: { write },
        stderr: { write: () => true },
        signal: stop.signal,
      };
      // Every second: MSAL renews a 5-second token at every run, so each run acquires a newer one.
      const done = runCli(
        ["watch", "--schedule", "* * * * * *", "--probe", "token", "--probe", "expired-token", "--format", "json"],
        io,
      );
      await expect
        .poll(() => stdout.split("\n").filter(Boolean).length, { timeout: 30_000, interval: 100 })
        .toBeGreaterThanOrEqual(3);
      stop.abort();
      await done;
      const runs = stdout
        .split("\n")
        .filter(Boolean)
        .map((line) => JSON.parse(line) as { results: { probe: string; outcome: string }[] });
      const expiredToken = runs.map((run) => run.results.find((r) => r.probe === "expired-token")?.outcome);
      // The first run's token stays the one kept, though each later run acquired a newer one.
      expect(expiredToken.slice(0, 3)).toEqual(["skipped", "pass", "pass"]);
    },
  );
});
