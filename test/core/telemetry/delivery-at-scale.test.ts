import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createAvailabilityReporter,
  DELIVERY_CHUNK,
  preloadTelemetry,
  type AvailabilityReporter,
} from "../../../src/core/telemetry/index.js";
import { loadApplicationInsights } from "../../../src/core/telemetry/sdk.js";
import { startPlainIngestion, type PlainIngestion } from "../../support/plain-ingestion.js";
import { bigRun } from "./run-reports.js";

// Against an ingestion endpoint written from the documented contract (test/support/plain-ingestion.ts),
// not the sandbox's emulator.

let ingestion: PlainIngestion;
const closers: (() => Promise<void>)[] = [];
beforeAll(async () => {
  ingestion = await startPlainIngestion();
  await preloadTelemetry();
});
afterAll(async () => {
  for (const close of closers) await close();
  await ingestion.close();
});

describe("the SDK's own log pipeline, as applicationinsights 3 builds it", () => {
  it(
    "drops without a word what is tracked while its queue is full: 2 560 of 3 000 through (512 in flight + 2 048 queued)",
    { timeout: 120_000 },
    async () => {
      // Why the reporter sends in chunks. If this starts to deliver all 3 000, the SDK's defaults changed.
      const ai = await loadApplicationInsights();
      const client = new ai.TelemetryClient(ingestion.connectionString, { useGlobalProviders: false });
      client.config.azureMonitorOpenTelemetryOptions = {
        enableLiveMetrics: false,
        azureMonitorExporterOptions: {
          connectionString: ingestion.connectionString,
          disableOfflineStorage: true,
          tlsOptions: { ca: ingestion.caPem },
        },
      };
      client.initialize();
      closers.push(() => client.shutdown());
      const before = ingestion.items.length;
      for (let i = 0; i < 3_000; i++)
        client.trackAvailability({
          id: `raw-${i}`,
          name: "raw/valid",
          duration: 1,
          success: true,
          runLocation: "x",
          message: "m",
        });
      await client.flush();
      const received = ingestion.items.slice(before).filter((item) => item.data?.baseData?.id?.startsWith("raw-"));
      expect(received).toHaveLength(512 + 2_048);
    },
  );
});

describe("the availability reporter at scale", () => {
  let reporter: AvailabilityReporter;
  beforeAll(() => {
    reporter = createAvailabilityReporter({
      connectionString: ingestion.connectionString,
      runLocation: "x",
      trustedCaPem: ingestion.caPem,
      flushTimeoutMs: 90_000,
    });
    closers.push(() => reporter.shutdown());
  });

  it("delivers each of 3 000 results exactly once, in posts of at most one chunk", { timeout: 120_000 }, async () => {
    const before = { items: ingestion.items.length, posts: ingestion.posts.length };
    const outcome = await reporter.report(bigRun("scale-3000", 3_000));
    expect(outcome).toMatchObject({ tracked: 3_000, accepted: 3_000, notAccepted: [] });
    const ids = ingestion.items
      .slice(before.items)
      .filter((item) => item.data?.baseData?.properties?.["runId"] === "scale-3000")
      .map((item) => item.data?.baseData?.id);
    expect(ids).toHaveLength(3_000);
    expect(new Set(ids).size).toBe(3_000);
    const posts = ingestion.posts.slice(before.posts);
    expect(Math.max(...posts)).toBeLessThanOrEqual(DELIVERY_CHUNK);
    expect(posts.reduce((a, b) => a + b, 0)).toBe(3_000);
  });
});
