import { describe, expect, it } from "vitest";
import { resultOf, runOnce, sandboxPerTest, settingsOf } from "./support.js";

const startSandbox = sandboxPerTest();

describe("misconfigurations named with the right cause and fix", () => {
  it("the token endpoint's certificate is not trusted (a TLS-inspecting proxy, NODE_EXTRA_CA_CERTS missing): tls-error naming NODE_EXTRA_CA_CERTS, not retried", async () => {
    const sandbox = await startSandbox();
    // The process trusts Node's roots only, as when the proxy's CA was never given to it.
    const config = { ...settingsOf(sandbox), extraCaPem: [] };
    const report = await runOnce(config, {}, ["token"]);
    const token = resultOf(report, "token");
    expect(token.outcome).toBe("error");
    expect(token.diagnosis?.cause).toBe("tls-error");
    expect(token.diagnosis?.fix).toContain("NODE_EXTRA_CA_CERTS");
    expect(`${token.diagnosis?.summary} ${token.diagnosis?.fix}`).not.toMatch(/retried once|transient/);
    expect(token.attempts).toBeUndefined();
    expect(sandbox.entra.tokenRequests()).toHaveLength(0);
  });
});

describe("the API's scope is one of Microsoft's own resources", () => {
  it.each([true, false])(
    "Microsoft Graph's scope (policy given: %s): first-party-scope on valid, no contradictory accessTokenAcceptedVersion fixes",
    async (withPolicy) => {
      const sandbox = await startSandbox();
      const config = settingsOf(sandbox, {
        PROBE_API_SCOPE: "https://graph.microsoft.com/.default",
        ...(withPolicy ? {} : { PROBE_POLICY_FILE: undefined }),
      });
      const report = await runOnce(config, {}, ["token", "valid", "wrong-audience"]);
      const valid = resultOf(report, "valid");
      expect(valid.outcome).toBe("fail");
      expect(valid.diagnosis).toMatchObject({ cause: "first-party-scope", evidence: { resource: "Microsoft Graph" } });
      expect(valid.diagnosis?.fix).toContain("PROBE_API_SCOPE");
      for (const r of report.results)
        expect(r.diagnosis?.fix ?? "", r.probe).not.toMatch(/set accessTokenAcceptedVersion to/);
    },
  );
});

describe("a token endpoint that answers with something other than a JWT", () => {
  it("is named at the token probe (token-not-jwt); the probes that read its claims are blocked, never 'unexpected TypeError'", async () => {
    const sandbox = await startSandbox();
    sandbox.entra.failNext(50, { kind: "opaque-token" });
    const report = await runOnce(settingsOf(sandbox), {}, [
      "token",
      "valid",
      "forged-signature",
      "alg-none",
      "wrong-audience",
    ]);
    const token = resultOf(report, "token");
    expect(token.outcome).not.toBe("pass");
    expect(token.diagnosis?.cause).toBe("token-not-jwt");
    for (const probe of ["valid", "forged-signature", "alg-none"] as const) {
      expect(resultOf(report, probe).outcome, probe).toBe("blocked");
      expect(resultOf(report, probe).message, probe).not.toMatch(/unexpected|TypeError/);
    }
    expect(JSON.stringify(report)).not.toContain("opaque-reference-token");
  });
});
