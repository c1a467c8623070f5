import { describe, expect, it } from "vitest";
import { createAvailabilityReporter, ingestionHost, preloadTelemetry } from "../../../src/core/telemetry/index.js";
import { noAnswerProblem, statusProblem, transportProblem } from "../../../src/core/telemetry/ingestion-problems.js";
import { sampleRun } from "./run-reports.js";

const HOST = "westeurope-5.in.applicationinsights.azure.com";

describe("why ingestion did not take a batch, and the fix", () => {
  it("names the host and the status, and the fix for each kind of answer", () => {
    expect(statusProblem(HOST, 401)).toEqual({
      reason: `ingestion at ${HOST} answered 401`,
      fix: expect.stringMatching(/APPLICATIONINSIGHTS_AUTHENTICATION_STRING.*Monitoring Metrics Publisher/) as unknown,
    });
    expect(statusProblem(HOST, 403).fix).toMatch(/Monitoring Metrics Publisher/);
    expect(statusProblem(HOST, 400).fix).toMatch(/InstrumentationKey/);
    expect(statusProblem(HOST, 439).fix).toMatch(/daily cap/);
    expect(statusProblem(HOST, 503).fix).toMatch(/next run/);
    expect(statusProblem(HOST, 418)).toEqual({ reason: `ingestion at ${HOST} answered 418` });
  });

  it("tells a certificate problem, a name that does not resolve and a blocked path apart", () => {
    expect(transportProblem(HOST, "SELF_SIGNED_CERT_IN_CHAIN")).toEqual({
      reason: `not sent to ingestion at ${HOST}: SELF_SIGNED_CERT_IN_CHAIN`,
      fix: expect.stringMatching(/NODE_EXTRA_CA_CERTS/) as unknown,
    });
    expect(transportProblem(HOST, "ERR_TLS_CERT_ALTNAME_INVALID").fix).toMatch(/NODE_EXTRA_CA_CERTS/);
    expect(transportProblem(HOST, "ENOTFOUND").fix).toMatch(/does not resolve.*IngestionEndpoint/);
    expect(transportProblem(HOST, "ECONNREFUSED").fix).toMatch(/outbound HTTPS/);
    expect(noAnswerProblem(HOST, 30_000).reason).toBe(`no answer from ingestion at ${HOST} within 30000 ms`);
  });

  it("reads the host from the connection string, Microsoft's default without an IngestionEndpoint", () => {
    expect(
      ingestionHost(
        `InstrumentationKey=5e1c7a94-2b3d-4f68-9a0e-7c4d2b8f1a36;IngestionEndpoint=https://${HOST}/;LiveEndpoint=https://x/`,
      ),
    ).toBe(HOST);
    expect(ingestionHost("InstrumentationKey=5e1c7a94-2b3d-4f68-9a0e-7c4d2b8f1a36")).toBe(
      "dc.services.visualstudio.com",
    );
  });

  it("names a name that does not resolve, through the real exporter", { timeout: 60_000 }, async () => {
    await preloadTelemetry();
    const reporter = createAvailabilityReporter({
      connectionString:
        "InstrumentationKey=5e1c7a94-2b3d-4f68-9a0e-7c4d2b8f1a36;IngestionEndpoint=https://ingestion.example.invalid/",
      runLocation: "x",
      maxRetries: 0,
      flushTimeoutMs: 20_000,
    });
    try {
      const outcome = await reporter.report(sampleRun("run-dns"));
      expect(outcome.accepted).toBe(0);
      expect(outcome.notAccepted[0]?.reason).toMatch(
        /^not sent to ingestion at ingestion\.example\.invalid: (ENOTFOUND|EAI_AGAIN)$/,
      );
      expect(outcome.notAccepted[0]?.fix).toMatch(/does not resolve/);
    } finally {
      await reporter.shutdown();
    }
  });
});
