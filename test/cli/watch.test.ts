import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../src/cli/cli.js";
import type { CliIo } from "../../src/cli/io.js";
import { NcrontabSchedule } from "../../src/cli/ncrontab.js";
import { UsageError } from "../../src/core/errors.js";
import { startSandbox, type Sandbox } from "../../src/sandbox/index.js";

/**
 * NCRONTAB as the Azure Functions host reads a timer's schedule (its NCrontab library, with seconds):
 * https://learn.microsoft.com/azure/azure-functions/functions-bindings-timer#ncrontab-expressions
 * Each row: the expression, the instant to start from (UTC; 2026-01-01 is a Thursday), and the next
 * occurrences NCrontab gives.
 */
const OCCURRENCES: [expression: string, from: string, next: string[]][] = [
  ["0 */5 * * * *", "2026-01-01T00:01:30Z", ["2026-01-01T00:05:00.000Z", "2026-01-01T00:10:00.000Z"]],
  // a/n: from a to the field's end, every n (the Functions host accepts it; Vixie-style parsers refuse it).
  [
    "5/10 * * * * *",
    "2026-01-01T00:00:00Z",
    ["2026-01-01T00:00:05.000Z", "2026-01-01T00:00:15.000Z", "2026-01-01T00:00:25.000Z"],
  ],
  [
    "10-20/5 0 0 * * *",
    "2026-01-01T00:00:00Z",
    ["2026-01-01T00:00:10.000Z", "2026-01-01T00:00:15.000Z", "2026-01-01T00:00:20.000Z"],
  ],
  ["0 15,45 * * * *", "2026-01-01T00:00:00Z", ["2026-01-01T00:15:00.000Z", "2026-01-01T00:45:00.000Z"]],
  ["0 0 9-17 * * *", "2026-01-01T17:30:00Z", ["2026-01-02T09:00:00.000Z", "2026-01-02T10:00:00.000Z"]],
  ["0 30 9 * * 1-5", "2026-01-02T10:00:00Z", ["2026-01-05T09:30:00.000Z", "2026-01-06T09:30:00.000Z"]],
  // Names: English, whole or abbreviated, any case (the docs' own example: "0 30 9 * Jan Mon").
  ["0 30 9 * Jan Mon", "2026-01-01T00:00:00Z", ["2026-01-05T09:30:00.000Z", "2026-01-12T09:30:00.000Z"]],
  ["0 0 12 * * sat,SUN", "2026-01-01T00:00:00Z", ["2026-01-03T12:00:00.000Z", "2026-01-04T12:00:00.000Z"]],
  ["0 0 0 1 January,jul *", "2026-01-01T00:00:00Z", ["2026-07-01T00:00:00.000Z", "2027-01-01T00:00:00.000Z"]],
  // Day of month and day of week both restricted: both must match (Friday the 13th), as in NCrontab;
  // Vixie cron would also fire on every Friday (2026-01-02).
  ["0 0 0 13 * 5", "2026-01-01T00:00:00Z", ["2026-02-13T00:00:00.000Z", "2026-03-13T00:00:00.000Z"]],
  ["0 0 0 13 * Friday", "2026-01-01T00:00:00Z", ["2026-02-13T00:00:00.000Z", "2026-03-13T00:00:00.000Z"]],
];

const REFUSED: [expression: string, mentioned: string][] = [
  ["0 0 0 L * *", "L (last)"],
  ["0 0 0 * * 5L", "L (last)"],
  ["0 0 0 15W * *", "W (nearest weekday)"],
  ["0 0 0 * * 5#3", "# (nth weekday)"],
  ["0 0 0 ? * MON", "? is Quartz"],
  ["0 */5 * * *", "6 fields"],
  ["0 0 0 * * 7", "outside 0-6"],
  ["60 * * * * *", "outside 0-59"],
  ["0 0 5-3 * * *", "backwards"],
  ["*/0 * * * * *", "step of 0"],
  ["0 0 0 * Foo *", "English name"],
];

describe("NCRONTAB as the Functions host reads it", () => {
  it.each(OCCURRENCES)("%s from %s", (expression, from, next) => {
    expect(new NcrontabSchedule(expression).next(new Date(from), next.length).map((d) => d.toISOString())).toEqual(
      next,
    );
  });

  it.each(REFUSED)("refuses %s, saying why (%s)", (expression, mentioned) => {
    let error: unknown;
    try {
      new NcrontabSchedule(expression);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toContain("--schedule");
    expect((error as Error).message).toContain(mentioned);
  });
});

describe("apim-smoke watch", () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await startSandbox();
  });
  afterAll(() => sandbox.close());

  function capture(signal?: AbortSignal) {
    const out = { stdout: "", stderr: "" };
    const { APPLICATIONINSIGHTS_CONNECTION_STRING: _ingestion, ...env } = sandbox.settings;
    const io: CliIo = {
      env,
      cwd: process.cwd(),
      stdout: { write: (s: string) => (out.stdout += s), isTTY: false },
      stderr: { write: (s: string) => (out.stderr += s), isTTY: false },
      ...(signal ? { signal } : {}),
    };
    return { io, out };
  }

  it("runs once at start, then waits for the schedule (here: next New Year)", async () => {
    const stop = new AbortController();
    const { io, out } = capture(stop.signal);
    const done = runCli(["watch", "--schedule", "0 0 0 1 Jan *", "--probe", "no-token", "--format", "json"], io);
    await expect.poll(() => out.stderr, { timeout: 20_000 }).toContain("watching: next run at");
    await sleep(200);
    stop.abort();
    expect(await done).toBe(0);
    const runs = out.stdout.split("\n").filter(Boolean);
    expect(runs).toHaveLength(1);
    expect(JSON.parse(runs[0]!)).toMatchObject({ summary: { total: 1, ok: true } });
    expect(out.stderr).toMatch(/run 1 at \S+ \(at start\)/);
    expect(out.stderr).toMatch(/next run at \d{4}-01-01T00:00:00\.000Z/);
  });

  it("takes the host's a/n step and refuses Quartz syntax with exit 2", async () => {
    const stop = new AbortController();
    const accepted = capture(stop.signal);
    const done = runCli(
      ["watch", "--schedule", "5/10 * * * * *", "--probe", "no-token", "--format", "json"],
      accepted.io,
    );
    await expect.poll(() => accepted.out.stderr, { timeout: 20_000 }).toContain("watching: next run at");
    stop.abort();
    expect(await done).toBe(0);

    const refused = capture();
    expect(await runCli(["watch", "--schedule", "0 0 0 L * *"], refused.io)).toBe(2);
    expect(refused.out.stderr).toContain("L (last) is Quartz syntax");
  });

  it("a PROBE_SCHEDULE it cannot read is named as that setting, not as --schedule (exit 2)", async () => {
    const refused = capture();
    refused.io = { ...refused.io, env: { ...refused.io.env, PROBE_SCHEDULE: "0 */5 * * *" } };
    expect(await runCli(["watch", "--probe", "no-token"], refused.io)).toBe(2);
    expect(refused.out.stderr).toMatch(/Invalid setting PROBE_SCHEDULE: must have 6 fields/);
    expect(refused.out.stderr).not.toContain("--schedule");
  });
});
