import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Agent } from "undici";
import { SandboxWaitTimeoutError } from "../../../src/core/errors.js";
import type { IngestionEmulator, TrackResponse } from "../../../src/sandbox/ingestion/index.js";
import { availabilityEnvelope, postTrack, startTrustedEmulator } from "./fixtures.js";

let emulator: IngestionEmulator;
let agent: Agent;

beforeAll(async () => {
  ({ emulator, agent } = await startTrustedEmulator());
});
afterAll(async () => {
  await agent.close();
  await emulator.close();
});
beforeEach(() => emulator.setFault(undefined));

describe("ingestion emulator /track", () => {
  it("accepts a JSON array on /v2.1/track and /v2/track and answers 200 with the counts", async () => {
    const before = emulator.availability().length;
    const one = await postTrack(emulator, agent, JSON.stringify([availabilityEnvelope({ baseData: { id: "a1" } })]));
    const two = await postTrack(emulator, agent, JSON.stringify([availabilityEnvelope({ baseData: { id: "a2" } })]), {
      path: "/v2/track",
    });

    expect(one.status).toBe(200);
    expect(one.json).toEqual({ itemsReceived: 1, itemsAccepted: 1, errors: [] });
    expect(two.status).toBe(200);
    expect(
      emulator
        .availability()
        .slice(before)
        .map((e) => e.data.baseData.id),
    ).toEqual(["a1", "a2"]);
  });

  it("accepts gzip and newline-delimited bodies", async () => {
    const before = emulator.availability().length;
    const gz = await postTrack(emulator, agent, JSON.stringify([availabilityEnvelope({ baseData: { id: "gz" } })]), {
      gzip: true,
    });
    const ndjson = [
      availabilityEnvelope({ baseData: { id: "nd1" } }),
      availabilityEnvelope({ baseData: { id: "nd2" } }),
    ]
      .map((e) => JSON.stringify(e))
      .join("\n");
    const nd = await postTrack(emulator, agent, ndjson);
    const ndGz = await postTrack(emulator, agent, ndjson, { gzip: true });

    expect([gz.status, nd.status, ndGz.status]).toEqual([200, 200, 200]);
    expect((nd.json as TrackResponse).itemsAccepted).toBe(2);
    expect(
      emulator
        .availability()
        .slice(before)
        .map((e) => e.data.baseData.id),
    ).toEqual(["gz", "nd1", "nd2", "nd1", "nd2"]);
  });

  it("refuses invalid items per index and answers 206 when some are valid", async () => {
    const rejectedBefore = emulator.rejected().length;
    const batch = [
      availabilityEnvelope({ baseData: { id: "ok" } }),
      availabilityEnvelope({ baseData: { duration: "125ms" } }),
      availabilityEnvelope({ time: "2025-01-02T03:04:05+01:00" }),
      availabilityEnvelope({ baseData: { name: "x".repeat(1025) } }),
      availabilityEnvelope({ baseData: { properties: { ["k".repeat(151)]: "v" } } }),
      availabilityEnvelope({ baseData: { properties: { count: 3 } } }),
      availabilityEnvelope({ baseData: { measurements: { durationMs: "125" } } }),
      availabilityEnvelope({ baseData: { success: "true" } }),
      availabilityEnvelope({ baseData: { ver: 1 } }),
      availabilityEnvelope({ baseData: { message: "m".repeat(8193) } }),
    ];
    const answer = await postTrack(emulator, agent, JSON.stringify(batch));
    const body = answer.json as TrackResponse;

    expect(answer.status).toBe(206);
    expect(body.itemsReceived).toBe(10);
    expect(body.itemsAccepted).toBe(1);
    expect(body.errors.map((e) => [e.index, e.statusCode])).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9].map((i) => [i, 400]));
    expect(body.errors[0]!.message).toContain("duration");
    expect(body.errors[1]!.message).toContain("time");
    expect(emulator.rejected().length - rejectedBefore).toBe(9);
  });

  it("answers 400 when no item is valid, including a non-JSON NDJSON line", async () => {
    const answer = await postTrack(emulator, agent, `not json\n${JSON.stringify({ name: "x" })}`);
    expect(answer.status).toBe(400);
    expect((answer.json as TrackResponse).errors.map((e) => e.index)).toEqual([0, 1]);

    const garbage = await postTrack(emulator, agent, "[not json");
    expect(garbage.status).toBe(400);
  });

  it("refuses an unknown instrumentation key until a connection string names it", async () => {
    const key = "11111111-2222-4333-8444-555555555555";
    const unknown = await postTrack(emulator, agent, JSON.stringify([availabilityEnvelope({ iKey: key })]));
    expect(unknown.status).toBe(400);
    expect((unknown.json as TrackResponse).errors[0]).toMatchObject({
      index: 0,
      statusCode: 400,
      message: "Invalid instrumentation key",
    });

    expect(emulator.connectionString(key)).toBe(
      `InstrumentationKey=${key};IngestionEndpoint=${emulator.origin}/;LiveEndpoint=${emulator.origin}/`,
    );
    const known = await postTrack(emulator, agent, JSON.stringify([availabilityEnvelope({ iKey: key })]));
    expect(known.status).toBe(200);
  });

  it("applies a whole-batch fault the configured number of times, with Retry-After", async () => {
    emulator.setFault({ status: 429, retryAfterSeconds: 7, times: 2 });
    const body = JSON.stringify([availabilityEnvelope({ baseData: { id: "throttled" } })]);
    const first = await postTrack(emulator, agent, body);
    const second = await postTrack(emulator, agent, body);
    const third = await postTrack(emulator, agent, body);

    expect([first.status, second.status, third.status]).toEqual([429, 429, 200]);
    expect(first.headers["retry-after"]).toBe("7");
    expect((first.json as TrackResponse).itemsAccepted).toBe(0);
    expect(emulator.availability().filter((e) => e.data.baseData.id === "throttled")).toHaveLength(1);
    expect(
      emulator
        .requests()
        .slice(-3)
        .map((r) => r.faulted),
    ).toEqual([true, true, false]);
  });

  it("answers 206 with retriable per-item errors under a partial fault", async () => {
    emulator.setFault({ partial: { rejectEvery: 2 } });
    const batch = [1, 2, 3, 4].map((n) => availabilityEnvelope({ baseData: { id: `p${n}` } }));
    const answer = await postTrack(emulator, agent, JSON.stringify(batch));
    const body = answer.json as TrackResponse;

    expect(answer.status).toBe(206);
    expect(body.itemsAccepted).toBe(2);
    expect(body.errors.map((e) => [e.index, e.statusCode])).toEqual([
      [1, 500],
      [3, 500],
    ]);
  });

  it("records posts to other paths separately and never as telemetry", async () => {
    const accepted = emulator.accepted().length;
    const answer = await postTrack(emulator, agent, "{}", { path: "/QuickPulseService.svc/ping?ikey=x" });
    expect(answer.status).toBe(200);
    expect(answer.headers["x-ms-qps-subscribed"]).toBe("false");
    expect(emulator.other().at(-1)).toMatchObject({ method: "POST", path: "/QuickPulseService.svc/ping" });
    expect(emulator.accepted()).toHaveLength(accepted);
  });

  it("waitForAvailability resolves when enough arrived and times out with a coded error", async () => {
    const have = emulator.availability().length;
    const waiting = emulator.waitForAvailability(have + 1, 5_000);
    await postTrack(emulator, agent, JSON.stringify([availabilityEnvelope({ baseData: { id: "late" } })]));
    expect((await waiting).at(-1)?.data.baseData.id).toBe("late");

    const error = await emulator.waitForAvailability(have + 100, 50).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SandboxWaitTimeoutError);
    expect((error as SandboxWaitTimeoutError).code).toBe("APIM_SMOKE_SANDBOX_WAIT_TIMEOUT");
  });

  it("rejects a bad fault configuration", () => {
    expect(() => emulator.setFault({ partial: { rejectEvery: 0 } })).toThrow(TypeError);
    expect(() => emulator.setFault({ status: 500, times: 0 })).toThrow(TypeError);
  });
});
