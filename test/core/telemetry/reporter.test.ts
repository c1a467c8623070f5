import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Agent } from "undici";
import { SettingsError } from "../../../src/core/errors.js";
import {
  createAvailabilityReporter,
  preloadTelemetry,
  type AvailabilityReporter,
  type TelemetryLogger,
} from "../../../src/core/telemetry/index.js";
import { checkEnvelope, type IngestionEmulator } from "../../../src/sandbox/ingestion/index.js";
import { startTrustedEmulator } from "../../sandbox/ingestion/fixtures.js";
import { startPlainIngestion } from "../../support/plain-ingestion.js";
import { startLoopbackHttps } from "../http/loopback-https.js";
import { DELIVERY_CHUNK } from "../../../src/core/telemetry/index.js";
import { bigRun, CANARY, sampleRun } from "./run-reports.js";

const PUBLISHED_PROPERTIES = [
  "target",
  "probe",
  "outcome",
  "expectedStatus",
  "actualStatus",
  "trigger",
  "source",
  "runId",
  "cause",
  "requestId",
  "tokenAudience",
  "tokenIssuer",
  "tokenVersion",
  "tokenRoles",
  "tokenKid",
];

let emulator: IngestionEmulator;
let agent: Agent;
let caPem: string;
const reporters: AvailabilityReporter[] = [];

function recordingLogger(): TelemetryLogger & { warnings: { message: string; fields?: Record<string, unknown> }[] } {
  const warnings: { message: string; fields?: Record<string, unknown> }[] = [];
  return { warnings, info: () => undefined, warn: (message, fields) => void warnings.push({ message, fields }) };
}

function reporter(
  options: { logger?: TelemetryLogger; flushTimeoutMs?: number; maxRetries?: number; connectionString?: string } = {},
): AvailabilityReporter {
  const created = createAvailabilityReporter({
    connectionString: options.connectionString ?? emulator.connectionString(),
    runLocation: "sandbox-eu",
    roleName: "probe-tests",
    trustedCaPem: caPem,
    retryDelayMs: 20,
    maxRetries: options.maxRetries ?? 3,
    flushTimeoutMs: options.flushTimeoutMs ?? 20_000,
    ...(options.logger ? { logger: options.logger } : {}),
  });
  reporters.push(created);
  return created;
}

beforeAll(async () => {
  ({ emulator, agent, caPem } = await startTrustedEmulator());
  await preloadTelemetry();
});
afterAll(async () => {
  await Promise.all(reporters.map((r) => r.shutdown()));
  await agent.close();
  await emulator.close();
});
beforeEach(() => emulator.setFault(undefined));

function ofRun(runId: string) {
  return emulator.availability().filter((e) => e.data.baseData.properties?.["runId"] === runId);
}

describe("availability reporter against the emulated ingestion endpoint", () => {
  it("sends one schema-valid availability result per probe that ran, with the published fields", async () => {
    const run = sampleRun("run-fields");
    const outcome = await reporter().report(run);

    expect(outcome).toMatchObject({ tracked: 4, accepted: 4, skipped: 1, notAccepted: [] });
    const sent = ofRun("run-fields");
    expect(sent).toHaveLength(4);
    for (const envelope of sent) expect(checkEnvelope(envelope)).toMatchObject({ ok: true, availability: true });

    const byName = new Map(sent.map((e) => [e.data.baseData.name, e]));
    expect([...byName.keys()].sort()).toEqual([
      "orders/forged-signature",
      "orders/no-token",
      "orders/valid",
      "orders/wrong-audience",
    ]);
    expect(byName.get("orders/valid")!.data.baseData.success).toBe(true);
    expect(byName.get("orders/no-token")!.data.baseData.success).toBe(false);
    expect(byName.get("orders/wrong-audience")!.data.baseData.success).toBe(false);

    const valid = byName.get("orders/valid")!.data.baseData;
    expect(valid.duration).toBe("00:00:01.235");
    expect(valid.measurements).toEqual({ durationMs: 1234.5 });
    expect(valid.runLocation).toBe("sandbox-eu");
    expect(valid.message).toBe("200 as expected");
    expect(valid.properties).toEqual({
      target: "orders",
      probe: "valid",
      outcome: "pass",
      expectedStatus: "200",
      actualStatus: "200",
      trigger: "timer",
      source: "probe-eu",
      runId: "run-fields",
      requestId: "req-valid-1",
      tokenAudience: "api://orders-api",
      tokenIssuer: "https://sts.windows.net/t/",
      tokenVersion: "1.0",
      tokenRoles: "Api.Access,Api.Read",
      tokenKid: "kid-1",
    });

    const security = byName.get("orders/no-token")!.data.baseData;
    expect(security.properties).toMatchObject({
      outcome: "security",
      expectedStatus: "401,403",
      actualStatus: "200",
      cause: "gateway-open",
    });
    // Expected vs actual, then the diagnosis' code, summary and fix, in one line.
    expect(security.message).toMatch(
      /^expected 401,403, got 200: .* \[gateway-open\] A request without a token got 200: .* Fix: Add validate-jwt/,
    );
    const blocked = byName.get("orders/wrong-audience")!.data.baseData;
    expect(blocked.properties).not.toHaveProperty("actualStatus");
    expect(blocked.message).toBe(
      "blocked: no token for the wrong audience second line [TOKEN_ACQUISITION_FAILED] s Fix: f",
    );
    expect(byName.get("orders/forged-signature")!.data.baseData.duration).toBe("1.01:01:01.001");
    expect(byName.get("orders/forged-signature")!.data.baseData.properties?.["tokenAudience"]).toBe("a1,a2");

    for (const envelope of sent) {
      for (const key of Object.keys(envelope.data.baseData.properties ?? {}))
        expect(PUBLISHED_PROPERTIES).toContain(key);
      expect(envelope.tags?.["ai.cloud.role"]).toBe("probe-tests");
    }
  });

  it("never sends the canary fields or a whole token", async () => {
    await reporter().report(sampleRun("run-canary"));
    const everything = JSON.stringify(emulator.accepted()) + JSON.stringify(emulator.rejected());
    expect(everything).not.toContain(CANARY);
    expect(everything).not.toContain("eyJhbGciOiJSUzI1NiJ9");
    const forged = ofRun("run-canary").find((e) => e.data.baseData.name === "orders/forged-signature")!;
    expect(forged.data.baseData.message).toContain("[redacted-token]");
  });

  it("sends nothing but /track: no statsbeat, live metrics or other background calls reach the endpoint", async () => {
    const logger = recordingLogger();
    await reporter({ logger }).report(sampleRun("run-quiet"));
    // A warning here would mean the OneSettings poller (settings.sdk.monitor.azure.com) is still on.
    expect(logger.warnings).toEqual([]);
    expect(emulator.other()).toEqual([]);
    expect(process.env["APPLICATION_INSIGHTS_NO_STATSBEAT"]).toBe("true");
    const nonAvailability = emulator.accepted().filter((e) => e.data.baseType !== "AvailabilityData");
    expect(nonAvailability.map((e) => e.name)).toEqual([]);
  });

  it("retries in memory through a 500 outage and loses no result", async () => {
    emulator.setFault({ status: 500, times: 2 });
    const outcome = await reporter().report(sampleRun("run-500"));
    expect(outcome).toMatchObject({ tracked: 4, accepted: 4, notAccepted: [] });
    expect(ofRun("run-500")).toHaveLength(4);
    expect(emulator.requests().filter((r) => r.faulted && r.status === 500).length).toBeGreaterThanOrEqual(2);
  });

  it("honours Retry-After on 429 and then delivers", async () => {
    emulator.setFault({ status: 429, retryAfterSeconds: 1, times: 1 });
    const started = Date.now();
    const outcome = await reporter().report(sampleRun("run-429"));
    expect(outcome.accepted).toBe(4);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(ofRun("run-429")).toHaveLength(4);
  });

  it("reports, without throwing, what an outage longer than the retries kept out", async () => {
    const logger = recordingLogger();
    emulator.setFault({ status: 503, times: 10 });
    const outcome = await reporter({ logger, maxRetries: 1 }).report(sampleRun("run-503"));
    emulator.setFault(undefined);

    expect(outcome.tracked).toBe(4);
    expect(outcome.accepted).toBe(0);
    expect(outcome.notAccepted.map((n) => n.name).sort()).toEqual([
      "orders/forged-signature",
      "orders/no-token",
      "orders/valid",
      "orders/wrong-audience",
    ]);
    // Each names the ingestion host and the status, and what to do about it.
    expect(
      outcome.notAccepted.every((n) => n.reason === `ingestion at ${new URL(emulator.origin).host} answered 503`),
    ).toBe(true);
    expect(outcome.notAccepted[0]?.fix).toMatch(/next run/);
    expect(outcome.endpoint).toBe(new URL(emulator.origin).host);
    expect(logger.warnings.some((w) => w.fields?.["runId"] === "run-503")).toBe(true);
    expect(ofRun("run-503")).toHaveLength(0);
  });

  it("names the items ingestion refused in a 206", async () => {
    emulator.setFault({ partial: { rejectEvery: 2 } });
    const outcome = await reporter({ maxRetries: 0 }).report(sampleRun("run-206"));
    emulator.setFault(undefined);

    expect(outcome.tracked).toBe(4);
    expect(outcome.accepted).toBe(2);
    expect(outcome.notAccepted).toHaveLength(2);
    expect(outcome.notAccepted.every((n) => n.reason.startsWith("refused 500"))).toBe(true);
    expect(ofRun("run-206")).toHaveLength(2);
  });

  it("shows ingestion's own refusal text as data: an escape sequence in it never reaches the terminal or the log", async () => {
    const refusing = await startLoopbackHttps((req, res) => {
      req.resume();
      req.on("end", () => {
        res.writeHead(206, { "content-type": "application/json" }).end(
          JSON.stringify({
            itemsReceived: 4,
            itemsAccepted: 0,
            errors: [0, 1, 2, 3].map((index) => ({
              index,
              statusCode: 400,
              message: "bad\u001b[2J\u009b31m\r\nforged line",
            })),
          }),
        );
      });
    });
    try {
      const logger = recordingLogger();
      const sender = createAvailabilityReporter({
        connectionString: `InstrumentationKey=3b9f6c1e-5d2a-4e87-9c04-7a1b8e6d2f53;IngestionEndpoint=${refusing.origin}/`,
        runLocation: "x",
        trustedCaPem: refusing.caPem,
        maxRetries: 0,
        logger,
      });
      reporters.push(sender);
      const outcome = await sender.report(sampleRun("run-escapes"));
      expect(outcome.accepted).toBe(0);
      expect(outcome.notAccepted).toHaveLength(4);
      for (const n of outcome.notAccepted) {
        expect(n.reason).toBe("refused 400: bad\\x1b[2J\\x9b31m  forged line");
      }
      // eslint-disable-next-line no-control-regex
      expect(JSON.stringify(logger.warnings)).not.toMatch(/\\u001b|\\u009b|\x1b|\x9b/);
    } finally {
      await refusing.close();
    }
  });

  it("does not throw when ingestion is unreachable", async () => {
    const closed = await startTrustedEmulator();
    const connectionString = closed.emulator.connectionString();
    await closed.emulator.close();
    await closed.agent.close();

    const outcome = await reporter({ connectionString, maxRetries: 0, flushTimeoutMs: 5_000 }).report(
      sampleRun("run-down"),
    );
    expect(outcome.accepted).toBe(0);
    expect(outcome.notAccepted).toHaveLength(4);
  });

  it("names the host, the 401 and the Entra-authenticated ingestion fix when ingestion refuses the sender", async () => {
    const plain = await startPlainIngestion();
    try {
      plain.failWith(401);
      const logger = recordingLogger();
      const refused = createAvailabilityReporter({
        connectionString: plain.connectionString,
        runLocation: "x",
        trustedCaPem: plain.caPem,
        maxRetries: 0,
        logger,
      });
      reporters.push(refused);
      const outcome = await refused.report(sampleRun("run-401"));
      expect(outcome.accepted).toBe(0);
      const host = new URL(plain.origin).host;
      expect(outcome.notAccepted.every((n) => n.reason === `ingestion at ${host} answered 401`)).toBe(true);
      expect(outcome.notAccepted[0]?.fix).toMatch(
        /APPLICATIONINSIGHTS_AUTHENTICATION_STRING.*Monitoring Metrics Publisher/,
      );
      // The log says it too, fix included (the Functions log gets this logger).
      expect(JSON.stringify(logger.warnings)).toContain("Monitoring Metrics Publisher");
    } finally {
      await plain.close();
    }
  });

  it("names a certificate the sender does not trust, and NODE_EXTRA_CA_CERTS, without retrying in vain for long", async () => {
    const untrusting = createAvailabilityReporter({
      connectionString: emulator.connectionString(),
      runLocation: "sandbox-eu",
      maxRetries: 0,
      flushTimeoutMs: 10_000,
    });
    reporters.push(untrusting);
    const outcome = await untrusting.report(sampleRun("run-untrusted"));
    expect(outcome.accepted).toBe(0);
    const reason = outcome.notAccepted[0]?.reason ?? "";
    expect(reason).toMatch(
      new RegExp(`^not sent to ingestion at ${new URL(emulator.origin).host.replace(/\./g, "\\.")}: [A-Z_]+`),
    );
    expect(reason).not.toBe(`not sent to ingestion at ${new URL(emulator.origin).host}: REQUEST_SEND_ERROR`);
    expect(outcome.notAccepted[0]?.fix).toMatch(/NODE_EXTRA_CA_CERTS/);
  });

  it(
    "delivers every one of a 3 000-result run, exactly once, in batches the SDK's queue can hold",
    { timeout: 120_000 },
    async () => {
      const run = bigRun("run-3000", 3_000);
      const before = emulator.requests().length;
      const started = performance.now();
      const outcome = await reporter({ flushTimeoutMs: 90_000 }).report(run);
      const elapsed = performance.now() - started;
      expect(outcome).toMatchObject({ tracked: 3_000, accepted: 3_000, notAccepted: [] });
      const ids = ofRun("run-3000").map((e) => e.data.baseData.id);
      expect(ids).toHaveLength(3_000);
      expect(new Set(ids).size).toBe(3_000);
      // One POST per chunk of DELIVERY_CHUNK, never more items in one than the exporter's batch.
      const posts = emulator
        .requests()
        .slice(before)
        .filter((r) => r.path.endsWith("/track"));
      expect(posts.length).toBeGreaterThanOrEqual(Math.ceil(3_000 / DELIVERY_CHUNK));
      expect(Math.max(...posts.map((p) => p.itemsReceived))).toBeLessThanOrEqual(DELIVERY_CHUNK);
      expect(outcome.deliveryMs).toBeGreaterThan(0);
      expect(outcome.deliveryMs).toBeLessThanOrEqual(Math.ceil(elapsed) + 1);
    },
  );

  it("reports nothing for a run whose probes were all skipped", async () => {
    const run = sampleRun("run-skipped");
    run.results = run.results.filter((r) => r.outcome === "skipped");
    expect(await reporter().report(run)).toEqual({ tracked: 0, accepted: 0, skipped: 1, notAccepted: [] });
  });

  it("refuses a connection string without a GUID key or with an http endpoint", () => {
    const bad = (connectionString: string) => () => createAvailabilityReporter({ connectionString, runLocation: "x" });
    expect(bad("IngestionEndpoint=https://127.0.0.1/")).toThrow(SettingsError);
    expect(bad("InstrumentationKey=5e1c7a94-2b3d-4f68-9a0e-7c4d2b8f1a36;IngestionEndpoint=http://127.0.0.1/")).toThrow(
      SettingsError,
    );
  });
});
