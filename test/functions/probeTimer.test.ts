import { afterEach, describe, expect, it, vi } from "vitest";
import type { RunReport } from "../../src/core/results/types.js";
import { DEFAULT_SCHEDULE } from "../../src/core/settings/defaults.js";
import { probeTimer, timerSchedule } from "../../src/functions/probeTimer.js";
import { sharedProbeRuntime } from "../../src/functions/support/probe-runtime.js";
import type { Sandbox } from "../../src/sandbox/index.js";
import { expectEnvelopesMatchReport } from "./expect-availability.js";
import { ofRun, recordingContext, timerInfo, useTriggerSandbox, warnings } from "./fixtures.js";

/**
 * Invokes the timer trigger's exported handler the way the host does (real InvocationContext, a
 * Timer shaped as the library types it) and checks what reached the sandbox's ingestion.
 */

/** Runs the handler and returns the report the runtime built (spied on the shared runtime, not rebuilt). */
async function invokeTimer(invocationId: string, options: { isPastDue?: boolean } = {}) {
  const runtime = sharedProbeRuntime();
  const spy = vi.spyOn(runtime, "run");
  const { context, logs } = recordingContext("probeTimer", invocationId);
  try {
    await expect(probeTimer(timerInfo(options), context)).resolves.toBeUndefined();
    expect(spy).toHaveBeenCalledTimes(1);
    const { report, telemetry } = await (spy.mock.results[0]!.value as ReturnType<typeof runtime.run>);
    return { report, telemetry, logs };
  } finally {
    spy.mockRestore();
  }
}

describe("probeTimer against the healthy sandbox", () => {
  let sandbox!: Sandbox;
  useTriggerSandbox({}, (s) => {
    sandbox = s;
  });
  afterEach(() => sandbox.ingestion.setFault(undefined));

  let first: RunReport;

  it("sends one availability result per probe that ran, matching the results, before it returns", async () => {
    const { report, telemetry, logs } = await invokeTimer("timer-healthy-1");
    first = report;

    expect(report.trigger).toBe("timer");
    expect(report.runId).toBe("timer-healthy-1");
    expect(report.summary.ok).toBe(true);
    // The healthy tenant has no expired token yet: that probe is skipped and must not be sent.
    expect(report.results.find((r) => r.probe === "expired-token")?.outcome).toBe("skipped");

    // Flushed before the invocation returned: no waiting here.
    const sent = ofRun(sandbox.ingestion.availability(), report.runId);
    expectEnvelopesMatchReport(sent, report);
    expect(sent.every((e) => e.data.baseData.runLocation === "sandbox")).toBe(true);
    expect(sent.map((e) => e.data.baseData.name)).not.toContain("default/expired-token");
    expect(telemetry).toMatchObject({ tracked: sent.length, accepted: sent.length, skipped: 1, notAccepted: [] });
    expect(warnings(logs)).toEqual([]);
  });

  it("gives each run its own runId shared by all of that run's results", async () => {
    const { report } = await invokeTimer("timer-healthy-2");
    expect(report.runId).not.toBe(first.runId);
    const runIds = new Set(sandbox.ingestion.availability().map((e) => e.data.baseData.properties?.["runId"]));
    expect([...runIds].sort()).toEqual(["timer-healthy-1", "timer-healthy-2"]);
  });

  it("still runs a past-due invocation and logs a warning saying so", async () => {
    const { report, logs } = await invokeTimer("timer-past-due", { isPastDue: true });
    expect(report.results.length).toBeGreaterThan(0);
    expect(ofRun(sandbox.ingestion.availability(), "timer-past-due").length).toBe(
      report.results.filter((r) => r.outcome !== "skipped").length,
    );
    expect(warnings(logs).some((w) => /past due/i.test(w))).toBe(true);
  });

  it("does not warn about schedule when the invocation is on time", async () => {
    const { logs } = await invokeTimer("timer-on-time");
    expect(warnings(logs).some((w) => /past due/i.test(w))).toBe(false);
  });

  it("sends nothing to the ingestion endpoint but /track: live metrics and the exporter's own pings stay off", () => {
    expect(sandbox.ingestion.requests().length).toBeGreaterThan(0);
    expect(sandbox.ingestion.other()).toEqual([]);
    expect(sandbox.ingestion.rejected()).toEqual([]);
  });

  it.each([
    { status: 500 as const, retryAfterSeconds: undefined },
    { status: 429 as const, retryAfterSeconds: 1 },
  ])(
    "loses no result to a short ingestion outage ($status): retried and accepted",
    async ({ status, retryAfterSeconds }) => {
      sandbox.ingestion.setFault({
        status,
        times: 1,
        ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}),
      });
      const runId = `timer-outage-${status}`;
      const { report, telemetry, logs } = await invokeTimer(runId);

      const faulted = sandbox.ingestion.requests().filter((r) => r.faulted && r.status === status);
      expect(faulted.length).toBeGreaterThanOrEqual(1);
      expectEnvelopesMatchReport(ofRun(sandbox.ingestion.availability(), runId), report);
      expect(telemetry?.notAccepted).toEqual([]);
      expect(warnings(logs).filter((w) => w.includes("not accepted"))).toEqual([]);
    },
  );

  it.each([500 as const, 429 as const])(
    "names every result a lasting ingestion outage (%i) refused, and still succeeds",
    async (status) => {
      sandbox.ingestion.setFault({ status, times: 1000, ...(status === 429 ? { retryAfterSeconds: 0 } : {}) });
      const runId = `timer-down-${status}`;
      const { report, telemetry, logs } = await invokeTimer(runId);

      expect(ofRun(sandbox.ingestion.availability(), runId)).toEqual([]);
      const ran = report.results.filter((r) => r.outcome !== "skipped");
      expect(telemetry?.accepted).toBe(0);
      expect(telemetry?.notAccepted.map((n) => n.name).sort()).toEqual(ran.map((r) => `${r.target}/${r.probe}`).sort());
      // Each lost result is named in a warning that went through the invocation's log.
      const logged = warnings(logs).join("\n");
      for (const r of ran) expect(logged).toContain(`${r.target}/${r.probe}`);
      expect(logged).toContain(String(status));
    },
    60_000,
  );
});

describe("probeTimer when the token is refused (invalid-secret)", () => {
  let sandbox!: Sandbox;
  useTriggerSandbox({ scenario: "invalid-secret" }, (s) => {
    sandbox = s;
  });

  it("sends blocked probes as failures and skips nothing else silently", async () => {
    const { report, logs } = await invokeTimer("timer-invalid-secret");
    const blocked = report.results.filter((r) => r.outcome === "blocked");
    expect(blocked.length).toBeGreaterThan(0);
    expect(report.results.find((r) => r.probe === "token")?.outcome).toBe("fail");
    expect(report.summary.ok).toBe(false);

    const sent = ofRun(sandbox.ingestion.availability(), report.runId);
    expectEnvelopesMatchReport(sent, report);
    for (const r of blocked) {
      const data = sent.find((e) => e.data.baseData.name === `${r.target}/${r.probe}`)?.data.baseData;
      expect(data?.success).toBe(false);
      expect(data?.properties?.["outcome"]).toBe("blocked");
    }
    // The failures are in the invocation's log too; the secret (its id here) never is.
    expect(warnings(logs).some((w) => w.includes("blocked"))).toBe(true);
    expect(logs.map((l) => l.message).join("\n")).not.toContain(sandbox.settings["PROBE_CLIENT_SECRET"]!);
  });
});

describe("timer schedule", () => {
  it("uses the documented default unless PROBE_SCHEDULE is set, then the %setting% form the host resolves", () => {
    expect(DEFAULT_SCHEDULE).toBe("0 */5 * * * *");
    expect(timerSchedule({})).toBe("0 */5 * * * *");
    expect(timerSchedule({ PROBE_SCHEDULE: "" })).toBe("0 */5 * * * *");
    expect(timerSchedule({ PROBE_SCHEDULE: "0 */1 * * * *" })).toBe("%PROBE_SCHEDULE%");
  });
});
