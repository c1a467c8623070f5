import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createProbeConnections, probeSecureContext } from "../../src/core/http/dispatcher.js";
import { PresentedCertificates } from "../../src/core/http/presented-certificates.js";
import { toAvailabilityItems } from "../../src/core/telemetry/availability.js";
import { GRAPH } from "../../src/sandbox/identities.js";
import { createSandboxCa } from "../../src/sandbox/tls/ca.js";
import { APPLICATION_READ_ALL } from "../../src/sandbox/entra/graph.js";
import { expiryFindings, rowsFromRunReport } from "../infra/rules.js";
import { startLoopbackHttps } from "../core/http/loopback-https.js";
import { resultOf, runOnce, sandboxPerTest, settingsOf } from "./support.js";

// Forecasts of what expires, end to end against the sandbox over TLS.

const openSandbox = sandboxPerTest();

describe("tls-certificate", () => {
  it("passes on the healthy gateway, naming the certificate, its issuer and its days left", async () => {
    const sandbox = await openSandbox();
    const report = await runOnce(settingsOf(sandbox));
    const tls = resultOf(report, "tls-certificate");
    expect(tls.outcome).toBe("pass");
    expect(tls.message).toMatch(
      /certificate 127\.0\.0\.1, issued by apim-smoke-probe sandbox CA [0-9a-f]+ \(apim-smoke-probe\).*: 397 days left/,
    );
    expect(tls.expiry).toMatchObject({
      item: expect.stringContaining("TLS certificate 127.0.0.1") as string,
      daysLeft: 397,
    });
  });

  it("fails with certificate-expiring on a gateway certificate that expires in 10 days; the other probes still pass", async () => {
    const sandbox = await openSandbox({ scenario: "certificate-expiring" });
    const report = await runOnce(settingsOf(sandbox));
    const tls = resultOf(report, "tls-certificate");
    expect(tls).toMatchObject({ outcome: "fail", cause: "certificate-expiring", expiry: { daysLeft: 10 } });
    expect(tls.diagnosis).toMatchObject({
      cause: "certificate-expiring",
      evidence: { subject: "127.0.0.1", daysLeft: "10", warnDays: "30" },
    });
    expect(tls.diagnosis!.summary).toContain("10 days left");
    expect(tls.diagnosis!.fix).toMatch(/Key Vault/);
    expect(report.results.filter((r) => r.outcome !== "pass" && r.outcome !== "skipped").map((r) => r.probe)).toEqual([
      "tls-certificate",
    ]);
    // What the expiry alert would see in App Insights, and the properties the workbook tile reads.
    const items = toAvailabilityItems(report, "sandbox", () => "id").items;
    expect(items.find((i) => i.name === "default/tls-certificate")!.properties).toMatchObject({
      daysLeft: "10",
      cause: "certificate-expiring",
    });
    expect(expiryFindings(rowsFromRunReport(report, "sandbox"), Date.now() + 1000)).toEqual([
      { item: expect.stringContaining("TLS certificate") as string, probe: "tls-certificate", daysLeft: 10 },
    ]);
  });

  it("passes with a threshold the certificate clears (PROBE_CERT_WARN_DAYS)", async () => {
    const sandbox = await openSandbox({ scenario: "certificate-expiring" });
    const report = await runOnce(settingsOf(sandbox, { PROBE_CERT_WARN_DAYS: "7" }), {}, ["tls-certificate"]);
    expect(resultOf(report, "tls-certificate")).toMatchObject({ outcome: "pass", expiry: { daysLeft: 10 } });
  });

  it("reads the handshake the run's own requests made: no extra connection", async () => {
    const sandbox = await openSandbox();
    const config = settingsOf(sandbox);
    const { dispatcher, certificates } = createProbeConnections({ extraCaPem: config.extraCaPem });
    try {
      const before = Date.now();
      const origin = new URL(config.targets[0]!.url).origin;
      const res = await dispatcher.request({ origin, path: "/", method: "GET" });
      await res.body.dump();
      const afterRequest = Date.now();
      await new Promise((r) => setTimeout(r, 20));
      const seen = await certificates.of(origin, before, 1000, new AbortController().signal);
      // Stamped by the request's own handshake, before it was asked for: no second connection.
      expect(seen.seenAt).toBeGreaterThanOrEqual(before);
      expect(seen.seenAt).toBeLessThanOrEqual(afterRequest);
      expect(seen.namesHost).toBe(true);
    } finally {
      await dispatcher.close();
    }
  });

  it("shows the names a certificate carries as data: an escape sequence in its subject never reaches the terminal", async () => {
    const ca = await createSandboxCa();
    const { certPem, keyPem } = await ca.issueServerCertificate(["evil\u001b[2J.example", "127.0.0.1"]);
    const server = createHttpsServer({ cert: certPem, key: keyPem }, (_req, res) => res.end());
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const certificates = new PresentedCertificates(probeSecureContext([ca.certPem]));
      const seen = await certificates.of(origin, Date.now(), 5000, new AbortController().signal);
      expect(seen.subject).toBe("evil\\x1b[2J.example");
      expect(JSON.stringify(seen)).not.toContain("\\u001b");
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it("is tls-error, as before, when the gateway's certificate is not trusted", async () => {
    const sandbox = await openSandbox();
    // A trust store without the sandbox CA.
    const certificates = new PresentedCertificates(probeSecureContext([]));
    const origin = new URL(sandbox.apiUrls[0]!).origin;
    await expect(certificates.of(origin, Date.now(), 2000, new AbortController().signal)).rejects.toMatchObject({
      kind: "tls",
    });
  });
});

describe("credential-expiry", () => {
  it("passes on the healthy tenant: the secrets' end dates read from Microsoft Graph, the one in use recognised by its hint", async () => {
    const sandbox = await openSandbox();
    const report = await runOnce(settingsOf(sandbox));
    const expiry = resultOf(report, "credential-expiry");
    expect(expiry.outcome).toBe("pass");
    const hint = sandbox.settings["PROBE_CLIENT_SECRET"]!.slice(0, 3);
    expect(expiry.message).toContain(`(hint ${hint}) of ${sandbox.settings["PROBE_CLIENT_ID"]}: 180 days left`);
    // The unassigned client's secret too.
    expect(expiry.message).toContain(`of ${sandbox.settings["PROBE_UNASSIGNED_CLIENT_ID"]}: 180 days left`);
    // Never the secret itself.
    expect(JSON.stringify(report)).not.toContain(sandbox.settings["PROBE_CLIENT_SECRET"]);
  });

  it("fails with credential-expiring on a client secret that expires in 7 days, with the portal path to rotate it", async () => {
    const sandbox = await openSandbox({ scenario: "secret-expiring" });
    const report = await runOnce(settingsOf(sandbox));
    const expiry = resultOf(report, "credential-expiry");
    expect(expiry).toMatchObject({ outcome: "fail", cause: "credential-expiring", expiry: { daysLeft: 7 } });
    expect(expiry.diagnosis).toMatchObject({
      cause: "credential-expiring",
      evidence: { daysLeft: "7", setting: "PROBE_CLIENT_SECRET" },
    });
    expect(expiry.diagnosis!.summary).toContain("7 days left");
    expect(expiry.diagnosis!.fix).toContain("App registrations > the app");
    expect(report.results.filter((r) => r.outcome !== "pass" && r.outcome !== "skipped").map((r) => r.probe)).toEqual([
      "credential-expiry",
    ]);
    expect(expiryFindings(rowsFromRunReport(report, "sandbox"), Date.now() + 1000)).toHaveLength(1);
  });

  it("is skipped, naming the Graph permission, when the probe's client may not read app registrations", async () => {
    const sandbox = await openSandbox();
    const model = sandbox.entra.model();
    model.roleAssignments = model.roleAssignments.filter(
      (r) => !(r.resourceClientId === GRAPH.clientId && r.roleId === APPLICATION_READ_ALL.id),
    );
    sandbox.entra.setModel(model);
    const report = await runOnce(settingsOf(sandbox));
    const expiry = resultOf(report, "credential-expiry");
    expect(expiry.outcome).toBe("skipped");
    expect(expiry.message).toMatch(/Application\.Read\.All/);
    expect(expiry.message).toMatch(/Graph answered 403/);
    expect(report.summary.ok).toBe(true);
  });

  it("reads a certificate credential's end date from its PEM, without Graph", async () => {
    const sandbox = await openSandbox();
    const config = settingsOf(sandbox, {
      PROBE_CLIENT_SECRET: undefined,
      PROBE_CLIENT_CERTIFICATE_PATH: sandbox.clientCertificateFile,
      PROBE_UNASSIGNED_CLIENT_ID: undefined,
      PROBE_UNASSIGNED_CLIENT_SECRET: undefined,
    });
    const model = sandbox.entra.model();
    model.roleAssignments = model.roleAssignments.filter((r) => r.resourceClientId !== GRAPH.clientId);
    sandbox.entra.setModel(model);
    const report = await runOnce(config, {}, ["credential-expiry"]);
    expect(resultOf(report, "credential-expiry")).toMatchObject({
      outcome: "pass",
      expiry: { item: expect.stringContaining("client certificate") as string },
    });
    expect(sandbox.entra.tokenRequests().filter((r) => r.resource === "https://graph.microsoft.com")).toEqual([]);
  });

  it("shows a secret's name from an independently written Microsoft Graph as data, its control characters escaped", async () => {
    const sandbox = await openSandbox();
    const hint = sandbox.settings["PROBE_CLIENT_SECRET"]!.slice(0, 3);
    const graph = await startLoopbackHttps((req, res) => {
      res.writeHead(200, { "content-type": "application/json" }).end(
        JSON.stringify({
          passwordCredentials: [
            {
              displayName: "ci\u001b]0;pwned\u0007\u001b[2J\u202eterces",
              hint,
              endDateTime: new Date(Date.now() + 90 * 86_400_000).toISOString(),
            },
          ],
          keyCredentials: [],
        }),
      );
    });
    const caDir = await mkdtemp(join(tmpdir(), "independent-graph-"));
    try {
      const caFile = join(caDir, "ca.pem");
      await writeFile(caFile, `${sandbox.caPem.trim()}\n${graph.caPem.trim()}\n`);
      const config = settingsOf(sandbox, {
        PROBE_GRAPH_URL: graph.origin,
        NODE_EXTRA_CA_CERTS: caFile,
        PROBE_UNASSIGNED_CLIENT_ID: undefined,
        PROBE_UNASSIGNED_CLIENT_SECRET: undefined,
      });
      const report = await runOnce(config, {}, ["credential-expiry"]);
      const expiry = resultOf(report, "credential-expiry");
      expect(graph.requests.map((r) => r.url)).toHaveLength(1);
      expect(expiry.outcome).toBe("pass");
      expect(expiry.message).toContain('client secret "ci\\x1b]0;pwned\\x07\\x1b[2J\\u202eterces"');
      expect(JSON.stringify(report)).not.toMatch(/\\u001b|\\u0007|\u202e/);
    } finally {
      await graph.close();
      await rm(caDir, { recursive: true, force: true });
    }
  });

  it("is skipped naming NODE_EXTRA_CA_CERTS when Microsoft Graph's certificate is not trusted, not as silence", async () => {
    const sandbox = await openSandbox();
    const graph = await startLoopbackHttps((req, res) => res.writeHead(500).end());
    try {
      const config = settingsOf(sandbox, { PROBE_GRAPH_URL: graph.origin });
      const report = await runOnce(config, {}, ["credential-expiry"]);
      const expiry = resultOf(report, "credential-expiry");
      expect(expiry.outcome).toBe("skipped");
      expect(expiry.message).toContain(
        `the probe's client secret: the TLS handshake with Microsoft Graph at ${graph.origin} failed (tls): behind a TLS-inspecting proxy or a private CA, add that CA to NODE_EXTRA_CA_CERTS`,
      );
    } finally {
      await graph.close();
    }
  });

  it("is skipped for a federated credential: nothing of it expires", async () => {
    const sandbox = await openSandbox();
    const config = settingsOf(sandbox, {
      PROBE_CLIENT_SECRET: undefined,
      PROBE_CREDENTIAL: "managed-identity",
      PROBE_UNASSIGNED_CLIENT_ID: undefined,
      PROBE_UNASSIGNED_CLIENT_SECRET: undefined,
    });
    const report = await runOnce(config, {}, ["credential-expiry"]);
    expect(resultOf(report, "credential-expiry")).toMatchObject({
      outcome: "skipped",
      message: expect.stringMatching(/federated credential .*nothing of it expires/) as string,
    });
  });
});
