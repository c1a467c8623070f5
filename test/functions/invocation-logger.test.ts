import { describe, expect, it } from "vitest";
import type { TelemetryOutcome } from "../../src/core/telemetry/index.js";
import { logRunSummary } from "../../src/functions/support/invocation-logger.js";
import { sampleRun } from "../core/telemetry/run-reports.js";
import { recordingContext, warnings } from "./fixtures.js";

const outbox = (
  extra: Partial<NonNullable<TelemetryOutcome["outbox"]>> = {},
): NonNullable<TelemetryOutcome["outbox"]> => ({
  description: "storage account st1, container apim-smoke-probe-state",
  earlier: { delivered: 0, refused: 0, tooOld: 0 },
  pending: 0,
  evicted: { total: 0, byOutcome: {} },
  ...extra,
});

describe("the Functions log of a run's delivery", () => {
  it("says what was delivered from earlier runs and what still waits", () => {
    const { context, logs } = recordingContext("probeTimer", "inv-1");
    const outcome: TelemetryOutcome = {
      tracked: 4,
      accepted: 4,
      skipped: 1,
      notAccepted: [],
      endpoint: "h",
      outbox: outbox({ earlier: { delivered: 7, refused: 0, tooOld: 0 }, pending: 2 }),
    };
    logRunSummary(context, sampleRun("inv-1"), outcome);
    expect(logs.map((l) => l.message)).toContain(
      "availability: 4/4 results accepted by ingestion; from earlier runs: 7 delivered; 2 waiting in the outbox",
    );
  });

  it("warns of a damaged state, evictions and each reason with its fix", () => {
    const { context, logs } = recordingContext("probeTimer", "inv-2");
    const damaged = {
      document: "outbox.json",
      problem: "not JSON (truncated or garbage)",
      savedAs: "outbox.damaged-2026-12-03T11-20-00.000Z.json",
      store: "storage account st1, container apim-smoke-probe-state",
    };
    const outcome: TelemetryOutcome = {
      tracked: 4,
      accepted: 3,
      skipped: 1,
      notAccepted: [
        {
          id: "a",
          name: "orders/valid",
          reason: "ingestion at h answered 403",
          fix: "give the identity Monitoring Metrics Publisher",
          kept: true,
        },
      ],
      endpoint: "h",
      outbox: outbox({ damaged, pending: 20_000, evicted: { total: 3, byOutcome: { pass: 3 } } }),
    };
    logRunSummary(context, sampleRun("inv-2"), outcome);
    const warned = warnings(logs).join("\n");
    expect(warned).toContain("3 evicted from the full outbox and lost (pass=3)");
    expect(warned).toContain(
      "availability: 1 not accepted (kept for a later run): ingestion at h answered 403; fix: give the identity Monitoring Metrics Publisher",
    );
    expect(warned).toContain(
      `state: outbox.json in storage account st1, container apim-smoke-probe-state was damaged (not JSON (truncated or garbage)); a copy is kept as ${damaged.savedAs}`,
    );
  });
});
