import { describe, expect, it } from "vitest";
import { redactTokens, toAvailabilityItems } from "../../../src/core/telemetry/availability.js";
import { FAKE_JWT, result, sampleRun } from "./run-reports.js";

let counter = 0;
const ids = () => `id-${++counter}`;

describe("toAvailabilityItems", () => {
  it("skips skipped probes and sends blocked ones as failures", () => {
    const { items, skipped } = toAvailabilityItems(sampleRun(), "loc", ids);
    expect(skipped).toBe(1);
    expect(items.map((i) => [i.name, i.success])).toEqual([
      ["orders/valid", true],
      ["orders/no-token", false],
      ["orders/wrong-audience", false],
      ["orders/forged-signature", false],
    ]);
    expect(new Set(items.map((i) => i.id)).size).toBe(4);
  });

  it("clips fields to the ingestion limits and keeps the message on one line", () => {
    const run = sampleRun();
    run.results = [
      result({
        probe: "valid",
        outcome: "fail",
        target: "t".repeat(2000),
        message: `line1\r\nline2\n${"m".repeat(9000)}`,
        requestId: "r".repeat(9000),
      }),
    ];
    const [item] = toAvailabilityItems(run, "l".repeat(3000), ids).items;
    expect(item!.name).toHaveLength(1024);
    expect(item!.runLocation).toHaveLength(1024);
    expect(item!.message).toHaveLength(8192);
    expect(item!.message.startsWith("line1 line2 m")).toBe(true);
    expect(item!.properties["requestId"]).toHaveLength(8192);
  });

  it("builds a message when the result has none and omits empty properties", () => {
    const run = sampleRun();
    run.source = "";
    run.results = [
      result({
        probe: "no-token",
        outcome: "error",
        expectedStatuses: [401],
        message: "",
        diagnosis: { cause: "TIMEOUT", summary: "", fix: "" },
      }),
    ];
    const [item] = toAvailabilityItems(run, "loc", ids).items;
    expect(item!.message).toBe("error: expected 401, got no answer; cause TIMEOUT");
    expect(Object.keys(item!.properties).sort()).toEqual([
      "cause",
      "expectedStatus",
      "outcome",
      "probe",
      "runId",
      "target",
      "trigger",
    ]);
  });

  it("treats a negative or non-finite duration as zero", () => {
    const run = sampleRun();
    run.results = [
      result({ probe: "valid", outcome: "pass", durationMs: Number.NaN }),
      result({ probe: "valid", outcome: "pass", durationMs: -5 }),
    ];
    expect(toAvailabilityItems(run, "loc", ids).items.map((i) => i.durationMs)).toEqual([0, 0]);
  });
});

describe("redactTokens", () => {
  it("replaces a compact JWS and leaves ordinary text alone", () => {
    expect(redactTokens(`Bearer ${FAKE_JWT} rest`)).toBe("Bearer [redacted-token] rest");
    expect(redactTokens("expected 401, got 200")).toBe("expected 401, got 200");
  });
});
