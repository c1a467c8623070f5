import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DELIVERY_CHUNK } from "../../src/core/telemetry/index.js";
import { startSandbox, type Sandbox } from "../../src/sandbox/index.js";
import { firedRules, rowFromAvailabilityEnvelope } from "../infra/rules.js";

/**
 * Lose nothing across a crash: the COMPILED CLI (`run --state-dir`) in a child process, killed with
 * SIGKILL at ten different moments of a run (timed through the run, right after its results were
 * kept, right after ingestion accepted a batch), then run again. Everything a killed run produced
 * (kept in the outbox before it is sent) must reach ingestion; a kill between acceptance and the
 * outbox's update may send that batch again, and no alert rule decides differently for it.
 */

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const CLI = join(repoRoot, "dist/src/cli/main.js");

let sandbox: Sandbox;
let work: string;
beforeAll(async () => {
  sandbox = await startSandbox();
  work = mkdtempSync(join(tmpdir(), "sigkill-"));
});
afterAll(async () => {
  await sandbox.close();
  rmSync(work, { recursive: true, force: true });
});

interface OutboxSnapshot {
  results?: { item?: { id?: string; properties?: Record<string, string> }; claim?: { pid?: number } }[];
}

function readOutbox(stateDir: string): OutboxSnapshot | undefined {
  try {
    return JSON.parse(readFileSync(join(stateDir, "outbox.json"), "utf8")) as OutboxSnapshot;
  } catch {
    return undefined;
  }
}

function startRun(stateDir: string): { child: ChildProcess; exited: Promise<number | null>; stdout: () => string } {
  const child = spawn(process.execPath, [CLI, "run", "--state-dir", stateDir, "--format", "json"], {
    cwd: work,
    env: { PATH: process.env["PATH"] ?? "", ...sandbox.settings },
    stdio: ["ignore", "pipe", "ignore"],
  });
  let out = "";
  child.stdout?.on("data", (chunk: Buffer) => (out += chunk.toString("utf8")));
  const exited = new Promise<number | null>((done) => child.once("exit", (code) => done(code)));
  return { child, exited, stdout: () => out };
}

/** Resolves when `condition` holds (checked every 2 ms), or after `timeoutMs`. */
function when(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  return new Promise((done) => {
    const started = Date.now();
    const timer = setInterval(() => {
      if (condition()) {
        clearInterval(timer);
        done(true);
      } else if (Date.now() - started > timeoutMs) {
        clearInterval(timer);
        done(false);
      }
    }, 2);
  });
}

describe("SIGKILL at any moment of a run, then run again", () => {
  it(
    "loses nothing the killed runs produced; a batch accepted before the kill arrives at most once more; no alert decides differently",
    { timeout: 300_000 },
    async () => {
      const stateDir = join(work, "state");
      const ofRun = (runId: string) =>
        sandbox.ingestion.availability().filter((e) => e.data.baseData.properties?.["runId"] === runId);

      // A whole run first: how long one takes here, and how many results it sends.
      const whole = startRun(stateDir);
      expect(await whole.exited).toBe(0);
      const wholeReport = JSON.parse(whole.stdout()) as { runId: string; results: { outcome: string }[] };
      const perRun = wholeReport.results.filter((r) => r.outcome !== "skipped").length;
      expect(ofRun(wholeReport.runId)).toHaveLength(perRun);
      const started = performance.now();
      const timing = startRun(stateDir);
      await timing.exited;
      const runMs = performance.now() - started;

      // Every run id any outbox held, seen by watching the file while the trials go on.
      const keptRunIds = new Set<string>();
      const watcher = setInterval(() => {
        for (const r of readOutbox(stateDir)?.results ?? []) {
          const runId = r.item?.properties?.["runId"];
          if (runId) keptRunIds.add(runId);
        }
      }, 2);

      const moments: { kind: string; at: (child: ChildProcess) => Promise<unknown> }[] = [
        ...[0.15, 0.3, 0.45, 0.6, 0.75, 0.9].map((fraction) => ({
          kind: `at ${Math.round(fraction * 100)}% of a run`,
          at: () => new Promise((done) => setTimeout(done, runMs * fraction)),
        })),
        ...[1, 2].map(() => ({
          kind: "as soon as the run's results are kept",
          at: (child: ChildProcess) =>
            when(() => (readOutbox(stateDir)?.results ?? []).some((r) => r.claim?.pid === child.pid), 60_000),
        })),
        ...[1, 2].map(() => ({
          kind: "as soon as ingestion accepted a batch",
          at: () => {
            const before = sandbox.ingestion.requests().length;
            return when(() => sandbox.ingestion.requests().length > before, 60_000);
          },
        })),
      ];
      let killsAfterAcceptance = 0;
      try {
        for (const moment of moments) {
          const before = sandbox.ingestion.requests().length;
          const trial = startRun(stateDir);
          await moment.at(trial.child);
          trial.child.kill("SIGKILL");
          await trial.exited;
          if (sandbox.ingestion.requests().length > before) killsAfterAcceptance += 1;
        }
      } finally {
        clearInterval(watcher);
      }

      // Run again: twice, the second to show nothing is left waiting.
      for (let i = 0; i < 2; i++) {
        const again = startRun(stateDir);
        expect(await again.exited).toBe(0);
      }
      expect(readOutbox(stateDir)).toMatchObject({ version: 1, results: [] });
      // A kill mid-write never damages the outbox (a write is a rename of a whole file).
      expect(readdirSync(stateDir).filter((f) => f.includes("damaged"))).toEqual([]);
      expect(existsSync(join(stateDir, "outbox.json.lock"))).toBe(false);

      // Everything a killed run kept reached ingestion: every one of its results, by id.
      const envelopes = sandbox.ingestion.availability();
      const killedRuns = [...keptRunIds].filter((runId) => runId !== wholeReport.runId);
      expect(killedRuns.length).toBeGreaterThanOrEqual(3);
      for (const runId of killedRuns) {
        const ids = new Set(ofRun(runId).map((e) => e.data.baseData.id));
        expect({ runId, delivered: ids.size }).toEqual({ runId, delivered: perRun });
      }

      // Duplicates: only from batches in flight at a kill after acceptance, each at most once more per such kill.
      const arrivals = new Map<string, number>();
      for (const e of envelopes)
        arrivals.set(e.data.baseData.id ?? "", (arrivals.get(e.data.baseData.id ?? "") ?? 0) + 1);
      const extra = [...arrivals.values()].reduce((n, count) => n + count - 1, 0);
      expect(extra).toBeLessThanOrEqual(killsAfterAcceptance * DELIVERY_CHUNK);
      for (const [, count] of arrivals) expect(count).toBeLessThanOrEqual(1 + killsAfterAcceptance);

      // No alert rule decides differently for the copies than for the results once each.
      // A copy arrives when the claim of the run that sent it is taken over: at once on this host,
      // after 15 minutes on another; the later arrival is the harder case for rules that read arrivals.
      const seen = new Map<string, number>();
      const arrivedAt = Date.now();
      const rows = envelopes.map((e) => {
        const id = e.data.baseData.id ?? "";
        const copy = seen.get(id) ?? 0;
        seen.set(id, copy + 1);
        return {
          ...rowFromAvailabilityEnvelope(e),
          ingestedAt: new Date(arrivedAt + copy * 15 * 60_000).toISOString(),
        };
      });
      const firstOnly = rows.filter((r) => r.ingestedAt === new Date(arrivedAt).toISOString());
      for (const minutes of [0, 5, 15, 20, 30, 60]) {
        const now = Date.now() + minutes * 60_000;
        expect({ minutes, fired: firedRules(rows, now) }).toEqual({ minutes, fired: firedRules(firstOnly, now) });
      }
    },
  );
});
