import { describe, expect, it } from "vitest";
import {
  deliveryNeedsAttention,
  deliveryProblemLines,
  deliveryReport,
  describeDelivery,
  lostCount,
  type TelemetryOutcome,
} from "../../../src/core/telemetry/index.js";

const base: TelemetryOutcome = {
  tracked: 3,
  accepted: 3,
  skipped: 0,
  notAccepted: [],
  endpoint: "eu.in.applicationinsights.azure.com",
  deliveryMs: 12,
};
const outbox = (
  extra: Partial<NonNullable<TelemetryOutcome["outbox"]>> = {},
): NonNullable<TelemetryOutcome["outbox"]> => ({
  description: "state dir ./state",
  earlier: { delivered: 0, refused: 0, tooOld: 0 },
  pending: 0,
  evicted: { total: 0, byOutcome: {} },
  ...extra,
});

describe("what a delivery reports", () => {
  it("needs no attention when everything was accepted", () => {
    const outcome = { ...base, outbox: outbox({ earlier: { delivered: 4, refused: 0, tooOld: 0 } }) };
    expect(deliveryNeedsAttention(outcome)).toBe(false);
    expect(describeDelivery(outcome)).toBe(
      "availability: 3/3 results accepted by ingestion; from earlier runs: 4 delivered",
    );
    expect(deliveryReport(outcome)).toEqual({
      endpoint: "eu.in.applicationinsights.azure.com",
      sent: 3,
      accepted: 3,
      kept: 0,
      lost: 0,
      evicted: { total: 0, byOutcome: {} },
      earlier: { delivered: 4, refused: 0, tooOld: 0 },
      waiting: 0,
      store: "state dir ./state",
      durationMs: 12,
      problems: [],
    });
  });

  it("counts evictions as lost, once, and needs attention (the CLI exits 3)", () => {
    const outcome: TelemetryOutcome = {
      ...base,
      accepted: 1,
      notAccepted: [
        {
          id: "a",
          name: "t/valid",
          outcome: "pass",
          reason: "ingestion at h answered 503",
          fix: "f",
          kept: false,
          evicted: true,
        },
        {
          id: "b",
          name: "t/no-token",
          outcome: "security",
          reason: "ingestion at h answered 503",
          fix: "f",
          kept: true,
        },
      ],
      outbox: outbox({ pending: 20_000, evicted: { total: 5, byOutcome: { pass: 5 } } }),
    };
    expect(lostCount(outcome)).toBe(5);
    expect(deliveryNeedsAttention(outcome)).toBe(true);
    expect(deliveryReport(outcome)).toMatchObject({
      kept: 1,
      lost: 5,
      evicted: { total: 5, byOutcome: { pass: 5 } },
      problems: [{ reason: "ingestion at h answered 503", fix: "f", results: 2, kept: 1 }],
    });
    expect(describeDelivery(outcome)).toContain("5 evicted from the full outbox and lost (pass=5)");
    expect(deliveryProblemLines(outcome)).toEqual([
      "availability: 2 not accepted (1 kept, 1 lost): ingestion at h answered 503; fix: f",
    ]);
  });

  it("needs attention when a damaged state was set aside, though nothing was lost", () => {
    const damaged = {
      document: "outbox.json",
      problem: "empty",
      savedAs: "outbox.damaged-x.json",
      store: "state dir ./state",
    };
    const outcome = { ...base, outbox: outbox({ damaged }) };
    expect(lostCount(outcome)).toBe(0);
    expect(deliveryNeedsAttention(outcome)).toBe(true);
    expect(deliveryReport(outcome).damagedState).toEqual(damaged);
  });
});
