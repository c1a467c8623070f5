import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Agent, request } from "undici";
import { describe, expect, it } from "vitest";
import type { Sandbox } from "../../src/sandbox/index.js";
import { startLoopbackHttps } from "../core/http/loopback-https.js";
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

/**
 * A token endpoint that is not Entra's: a proxy of its own (own server, own certificate) in front of
 * the sandbox's tenant that passes everything through, its own origin in place of the tenant's, and
 * alters the access token of every token answer with `alter`.
 */
async function tokenProxy(sandbox: Sandbox, alter: (token: string) => string) {
  const upstream = sandbox.settings["PROBE_AUTHORITY_HOST"]!;
  const agent = new Agent({ connect: { ca: sandbox.caPem } });
  let origin = "";
  const proxy = await startLoopbackHttps((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      void (async () => {
        const { host: _host, ...headers } = req.headers as Record<string, string>;
        const answer = await request(`${upstream}${req.url ?? "/"}`, {
          method: (req.method ?? "GET") as "GET",
          headers,
          body: chunks.length > 0 ? Buffer.concat(chunks) : null,
          dispatcher: agent,
        });
        let text = (await answer.body.text()).replaceAll(upstream, origin);
        if (new URL(req.url ?? "/", origin).pathname.endsWith("/token") && answer.statusCode === 200) {
          const body = JSON.parse(text) as { access_token: string };
          text = JSON.stringify({ ...body, access_token: alter(body.access_token) });
        }
        res.writeHead(answer.statusCode, { "content-type": "application/json; charset=utf-8" }).end(text);
      })();
    });
  });
  origin = proxy.origin;
  const dir = await mkdtemp(join(tmpdir(), "token-proxy-"));
  await writeFile(join(dir, "ca.pem"), `${sandbox.caPem.trim()}\n${proxy.caPem.trim()}\n`);
  return {
    settings: { PROBE_AUTHORITY_HOST: origin, NODE_EXTRA_CA_CERTS: join(dir, "ca.pem"), PROBE_CLOUD: undefined },
    close: async () => {
      await proxy.close();
      await agent.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

describe("a token endpoint whose JWT cannot travel as a header (a trailing newline, a space)", () => {
  it.each([
    ["a trailing newline", (t: string) => `${t}\n`],
    ["a space inside", (t: string) => `${t.slice(0, 20)} ${t.slice(20)}`],
  ])("%s: named at the token probe (token-not-jwt), never 'unexpected InvalidArgumentError'", async (_what, alter) => {
    const sandbox = await startSandbox();
    const proxy = await tokenProxy(sandbox, alter);
    try {
      const report = await runOnce(settingsOf(sandbox, proxy.settings), {}, [
        "token",
        "valid",
        "wrong-audience",
        "forged-signature",
      ]);
      expect(resultOf(report, "token").diagnosis?.cause).toBe("token-not-jwt");
      for (const probe of ["valid", "wrong-audience", "forged-signature"] as const) {
        expect(resultOf(report, probe).outcome, probe).toBe("blocked");
        expect(resultOf(report, probe).message, probe).not.toMatch(/unexpected|InvalidArgumentError/);
      }
      // It got as far as the tenant: the token endpoint answered through the proxy.
      expect(sandbox.entra.tokenRequests().length).toBeGreaterThan(0);
    } finally {
      await proxy.close();
    }
  });
});
