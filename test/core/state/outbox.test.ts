import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createFileStateStore, Outbox, type DeliveryVerdict } from "../../../src/core/state/index.js";
import type { AvailabilityItem } from "../../../src/core/telemetry/index.js";

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function stateDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "outbox-"));
  dirs.push(dir);
  return dir;
}

let seq = 0;
function item(outcome: string, minutesAgo = 1): AvailabilityItem {
  seq += 1;
  return {
    id: `id-${seq}`,
    name: `t/${outcome}-${seq}`,
    time: new Date(Date.now() - minutesAgo * 60_000 + seq).toISOString(),
    success: outcome === "pass",
    durationMs: 1,
    runLocation: "x",
    message: outcome,
    properties: { outcome },
    measurements: { durationMs: 1 },
  };
}

const onDisk = (
  dir: string,
): { version: number; results: { item: { id: string }; attempts: number; claim?: unknown }[] } =>
  JSON.parse(readFileSync(join(dir, "outbox.json"), "utf8")) as never;

const retry = (reason = "ingestion at x answered 503"): DeliveryVerdict => ({ kind: "retry", reason });

describe("kept before sent", () => {
  it("holds a run's results in the outbox before any is sent; accepted ones leave after their chunk, the rest are released", async () => {
    const dir = stateDir();
    const outbox = new Outbox(createFileStateStore(dir));
    const fresh = [item("pass"), item("fail"), item("security")];
    await outbox.admit("run-1", fresh);
    // A process killed now loses nothing: all three are on disk, held by run-1.
    expect(onDisk(dir).results.map((r) => r.item.id)).toEqual(fresh.map((i) => i.id));
    expect(onDisk(dir).results.every((r) => (r.claim as { by?: string }).by === "run-1")).toBe(true);

    await outbox.settle("run-1", new Map([[fresh[0]!.id, { kind: "accepted" }]]));
    expect(onDisk(dir).results.map((r) => r.item.id)).toEqual([fresh[1]!.id, fresh[2]!.id]);

    const released = await outbox.release(
      "run-1",
      new Map([
        [fresh[1]!.id, { kind: "refused", reason: "400" }],
        [fresh[2]!.id, retry()],
      ]),
    );
    expect(released).toEqual({ pending: 1, evicted: [] });
    expect(onDisk(dir).results).toMatchObject([
      { item: { id: fresh[2]!.id }, attempts: 1, lastReason: "ingestion at x answered 503" },
    ]);
    expect(onDisk(dir).results[0]!.claim).toBeUndefined();
  });

  it("leaves another live run's results alone, and takes over those of a process on this host that died", async () => {
    const dir = stateDir();
    const outbox = new Outbox(createFileStateStore(dir));
    const mine = item("pass");
    await outbox.admit("live-run", [mine]);
    // Same process, another delivery: still held.
    expect((await outbox.admit("other-run", [])).claimed).toEqual([]);

    // A process that ran and exited: its pid no longer runs.
    const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
    const pid = child.pid!;
    await new Promise((resolve) => child.once("exit", resolve));
    const doc = onDisk(dir);
    for (const r of doc.results) (r.claim as { pid: number }).pid = pid;
    writeFileSync(join(dir, "outbox.json"), JSON.stringify(doc));
    const { claimed } = await outbox.admit("next-run", []);
    expect(claimed.map((k) => k.item.id)).toEqual([mine.id]);
  });
});

describe("the outbox's cap", () => {
  it("evicts passes first, oldest first, and never a fail or security result while a pass remains; says which", async () => {
    const dir = stateDir();
    const outbox = new Outbox(createFileStateStore(dir), Date.now, 4);
    const oldSecurity = item("security", 30);
    const oldFail = item("fail", 29);
    const oldPass = item("pass", 28);
    const newPass = item("pass", 2);
    const newFail = item("fail", 1);
    const newSecurity = item("security", 1);
    const all = [oldSecurity, oldFail, oldPass, newPass, newFail, newSecurity];
    await outbox.admit("r", all);
    const released = await outbox.release("r", new Map(all.map((i) => [i.id, retry()])));
    expect(released.evicted.map((k) => k.item.id)).toEqual([oldPass.id, newPass.id]);
    expect(released.pending).toBe(4);
    expect(onDisk(dir).results.map((r) => r.item.id)).toEqual([oldSecurity.id, oldFail.id, newFail.id, newSecurity.id]);

    // Full of fail and security: the oldest fail goes before any security result.
    await outbox.admit("r2", [item("security")]);
    const next = await outbox.release("r2", new Map());
    expect(next.evicted.map((k) => k.item.properties["outcome"])).toEqual(["fail"]);
    expect(next.evicted[0]!.item.id).toBe(oldFail.id);
  });
});

describe("a damaged outbox", () => {
  const cases: [string, string, RegExp][] = [
    ["truncated", '{"version":1,"results":[{"item":{"id":"a","na', /not JSON/],
    ["garbage", "\u0000\u0001garbage", /not JSON/],
    ["empty", "", /empty/],
    ["another format version", '{"version":2,"results":[]}', /format version 2; this release reads version 1/],
    ["not an outbox", '{"hello":"world"}', /not an outbox document/],
  ];

  it.each(cases)(
    "is set aside when %s: a copy named with the time keeps every byte, the caller is told, a new outbox starts",
    async (_kind, text, problem) => {
      const dir = stateDir();
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, "outbox.json"), text);
      const at = Date.parse("2026-12-03T11:20:00.000Z");
      const outbox = new Outbox(createFileStateStore(dir), () => at);
      const fresh = item("pass");
      const admitted = await outbox.admit("run-1", [fresh]);
      expect(admitted.damaged).toMatchObject({
        document: "outbox.json",
        problem: expect.stringMatching(problem) as unknown,
        savedAs: "outbox.damaged-2026-12-03T11-20-00.000Z.json",
      });
      expect(admitted.damaged!.store).toContain("state dir");
      expect(readFileSync(join(dir, admitted.damaged!.savedAs), "utf8")).toBe(text);
      expect(onDisk(dir).results.map((r) => r.item.id)).toEqual([fresh.id]);
      // Once: the next update reads a sound document.
      expect((await outbox.admit("run-2", [])).damaged).toBeUndefined();
      expect(readdirSync(dir).filter((f) => f.includes("damaged"))).toHaveLength(1);
    },
  );

  it("keeps the readable results of a document with some unreadable ones, and a copy of the whole", async () => {
    const dir = stateDir();
    mkdirSync(dir, { recursive: true });
    const good = item("fail");
    const text = JSON.stringify({
      version: 1,
      results: [{ item: good, attempts: 1, lastReason: "503" }, { item: { id: 5 } }],
    });
    writeFileSync(join(dir, "outbox.json"), text);
    const admitted = await new Outbox(createFileStateStore(dir)).admit("run-1", []);
    expect(admitted.damaged?.problem).toBe("1 of 2 results unreadable");
    expect(admitted.claimed.map((k) => k.item.id)).toEqual([good.id]);
    expect(readFileSync(join(dir, admitted.damaged!.savedAs), "utf8")).toBe(text);
  });

  it("is not replaced when its copy cannot be kept", async () => {
    const dir = stateDir();
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "outbox.json"), "garbage");
    const store = createFileStateStore(dir);
    const failing = { ...store, setAside: () => Promise.reject(new Error("disk full")) };
    await expect(new Outbox(failing).admit("run-1", [item("pass")])).rejects.toThrow("disk full");
    expect(readFileSync(join(dir, "outbox.json"), "utf8")).toBe("garbage");
  });
});
