import { describe, expect, it } from "vitest";
import { checkEnvelope } from "../../../src/sandbox/ingestion/schema.js";
import { availabilityEnvelope } from "./fixtures.js";

describe("checkEnvelope", () => {
  it("accepts the documented availability envelope, with days in the duration", () => {
    expect(checkEnvelope(availabilityEnvelope({ baseData: { duration: "1.02:03:04.005" } }))).toMatchObject({
      ok: true,
      availability: true,
    });
  });

  it("accepts other base types as envelopes only", () => {
    const message = {
      ...availabilityEnvelope(),
      name: "Microsoft.ApplicationInsights.Message",
      data: { baseType: "MessageData", baseData: { ver: 2, message: "m" } },
    };
    expect(checkEnvelope(message)).toMatchObject({ ok: true, availability: false });
  });

  it.each([
    ["missing iKey", { ...availabilityEnvelope(), iKey: undefined }, "iKey"],
    ["time with offset", availabilityEnvelope({ time: "2025-01-02T03:04:05" }), "time"],
    ["duration in ms", availabilityEnvelope({ baseData: { duration: 125 } }), "duration"],
    ["hours past 23", availabilityEnvelope({ baseData: { duration: "24:00:00.000" } }), "duration"],
    ["runLocation too long", availabilityEnvelope({ baseData: { runLocation: "r".repeat(2025) } }), "runLocation"],
    [
      "property value too long",
      availabilityEnvelope({ baseData: { properties: { a: "v".repeat(8193) } } }),
      "properties",
    ],
    ["wrong envelope name", { ...availabilityEnvelope(), name: "Microsoft.ApplicationInsights.Event" }, "name"],
  ])("refuses %s", (_label, item, field) => {
    const check = checkEnvelope(item);
    expect(check.ok).toBe(false);
    if (!check.ok) expect(check.message).toContain(field);
  });
});
