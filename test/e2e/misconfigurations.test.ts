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
