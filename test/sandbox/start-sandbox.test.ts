import { describe, expect, it } from "vitest";
import { Agent, request } from "undici";
import { ORDERS_API, PROBE_CLIENT, SANDBOX_TENANT_ID } from "../../src/sandbox/identities.js";
import { SCENARIO_NAMES, SCENARIOS, startSandbox } from "../../src/sandbox/index.js";
import { existsSync, readFileSync } from "node:fs";

describe("startSandbox", () => {
  it("hands out settings under the names the probe reads, pointing at its own loopback servers", async () => {
    const sandbox = await startSandbox();
    try {
      const s = sandbox.settings;
      expect(s.PROBE_TENANT_ID).toBe(SANDBOX_TENANT_ID);
      expect(s.PROBE_CLIENT_ID).toBe(PROBE_CLIENT.clientId);
      expect(s.PROBE_API_SCOPE).toBe(`${ORDERS_API.appIdUri}/.default`);
      for (const url of [s.PROBE_AUTHORITY_HOST!, s.PROBE_API_URL!, sandbox.ingestion.origin]) {
        expect(new URL(url).protocol).toBe("https:");
        expect(new URL(url).hostname).toBe("127.0.0.1");
      }
      expect(s.APPLICATIONINSIGHTS_CONNECTION_STRING).toContain(`IngestionEndpoint=${sandbox.ingestion.origin}`);
      expect(readFileSync(s.NODE_EXTRA_CA_CERTS!, "utf8")).toBe(sandbox.caPem);
      expect(readFileSync(sandbox.clientCertificateFile, "utf8")).toMatch(/BEGIN CERTIFICATE[\s\S]+BEGIN PRIVATE KEY/);

      // Every server is reachable with the CA and only with it: no certificate check is ever off.
      const trusted = new Agent({ connect: { ca: sandbox.caPem } });
      try {
        const answer = await request(
          `${s.PROBE_AUTHORITY_HOST}/${SANDBOX_TENANT_ID}/v2.0/.well-known/openid-configuration`,
          { dispatcher: trusted },
        );
        expect(answer.statusCode).toBe(200);
        await answer.body.dump();
      } finally {
        await trusted.close();
      }
      const untrusting = new Agent();
      try {
        await expect(request(s.PROBE_API_URL!, { dispatcher: untrusting })).rejects.toMatchObject({
          code: expect.stringMatching(/CERT|SELF_SIGNED|UNABLE/) as unknown,
        });
      } finally {
        await untrusting.close();
      }
    } finally {
      await sandbox.close();
    }
    expect(existsSync(sandbox.caFile)).toBe(false);
  });

  it("invalid-secret hands out the secret's ID where its value belongs", async () => {
    const healthy = await startSandbox();
    const broken = await startSandbox({ scenario: "invalid-secret" });
    try {
      expect(broken.settings.PROBE_CLIENT_SECRET).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-/);
      expect(healthy.settings.PROBE_CLIENT_SECRET).not.toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-/);
    } finally {
      await Promise.all([healthy.close(), broken.close()]);
    }
  });

  it("publishes extra APIs on their own paths for many-target runs", async () => {
    const sandbox = await startSandbox({ extraApis: 2 });
    try {
      expect(sandbox.apiUrls).toHaveLength(3);
      expect(new Set(sandbox.apiUrls).size).toBe(3);
      expect(sandbox.apiUrls[0]).toBe(sandbox.settings.PROBE_API_URL);
    } finally {
      await sandbox.close();
    }
  });

  it("describes every scenario and starts each one", async () => {
    for (const name of SCENARIO_NAMES) {
      expect(SCENARIOS[name].name).toBe(name);
      expect(SCENARIOS[name].description.length).toBeGreaterThan(10);
      const sandbox = await startSandbox({ scenario: name });
      await sandbox.close();
    }
  });
});
