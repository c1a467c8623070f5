import { execFile } from "node:child_process";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createBlobStateStore, storageConnectionFrom } from "../../src/core/state/index.js";
import { startSandbox, type Sandbox } from "../../src/sandbox/index.js";
import { startAzurite, type Azurite } from "../support/azurite.js";
import { movableClock } from "../support/clock.js";

/**
 * The restart test. The timer trigger's COMPILED handler runs in a child process with a real
 * InvocationContext, against the sandbox and the Function app's storage (Azurite, through
 * @azure/storage-blob as in Azure); the process is ended after each run. The second process must
 * deliver what the first could not, and send the token the first one harvested, now expired.
 */

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const execFileAsync = promisify(execFile);

// CLOCK_OFFSET_MS moves this process's clock as the test moved the sandbox's (every Date reads it):
// the tokens an earlier process kept have aged for both, without the test waiting.
const RUN_ONE_INVOCATION = String.raw`
const offsetMs = Number(process.env.CLOCK_OFFSET_MS);
const RealDate = Date;
globalThis.Date = class extends RealDate {
  constructor(...args) {
    if (args.length === 0) super(RealDate.now() + offsetMs);
    else super(...args);
  }
  static now() {
    return RealDate.now() + offsetMs;
  }
};
const { format } = await import("node:util");
const { default: functions } = await import("@azure/functions");
const { InvocationContext } = functions;
const { probeTimer } = await import(process.env.HANDLER_MODULE);
const logs = [];
const context = new InvocationContext({
  invocationId: process.env.INVOCATION_ID,
  functionName: "probeTimer",
  logHandler: (level, ...args) => logs.push({ level, message: format(...args) }),
});
const last = new Date(Date.now() - 300000).toISOString();
await probeTimer({ isPastDue: false, schedule: { adjustForDST: true }, scheduleStatus: { last, next: last, lastUpdated: last } }, context);
process.stdout.write(JSON.stringify(logs));
process.exit(0);
`;

let sandbox: Sandbox;
let azurite: Azurite;
const TOKEN_LIFETIME_S = 3;
const clock = movableClock();

beforeAll(async () => {
  [sandbox, azurite] = await Promise.all([
    startSandbox({ tokenLifetimeSeconds: TOKEN_LIFETIME_S, now: clock.now }),
    startAzurite(),
  ]);
}, 60_000);
afterAll(async () => {
  await Promise.all([sandbox?.close(), azurite?.stop()]);
});

async function invokeInNewProcess(invocationId: string): Promise<{ level: string; message: string }[]> {
  const { stdout } = await execFileAsync(process.execPath, ["--input-type=module", "-e", RUN_ONE_INVOCATION], {
    cwd: repoRoot,
    env: {
      PATH: process.env["PATH"] ?? "",
      ...sandbox.settings,
      AzureWebJobsStorage: azurite.connectionString,
      PROBE_STATE_KEY: "restart-test-state-key-0123456789-abcdefghij",
      HANDLER_MODULE: pathToFileURL(join(repoRoot, "dist/src/functions/probeTimer.js")).href,
      INVOCATION_ID: invocationId,
      CLOCK_OFFSET_MS: String(clock.offsetMs()),
    },
    timeout: 120_000,
  });
  return JSON.parse(stdout) as { level: string; message: string }[];
}

const ofRun = (runId: string) =>
  sandbox.ingestion.availability().filter((e) => e.data.baseData.properties?.["runId"] === runId);

describe("the Function app across a restart (AzureWebJobsStorage on Azurite)", () => {
  it(
    "delivers the first process's undelivered results from the second, and sends the harvested token once expired",
    { timeout: 180_000 },
    async () => {
      sandbox.ingestion.setFault({ status: 503, retryAfterSeconds: 0, times: 100_000 });
      const firstLogs = await invokeInNewProcess("restart-run-1");
      expect(ofRun("restart-run-1")).toEqual([]);
      expect(firstLogs.some((l) => l.level === "warning" && /kept for a later run/.test(l.message))).toBe(true);

      // The state is in the app's storage account, where a new instance finds it; no token in clear.
      const store = createBlobStateStore(storageConnectionFrom({ AzureWebJobsStorage: azurite.connectionString })!);
      const outbox = JSON.parse((await store.read("outbox"))!.text) as {
        results: { item: { properties: { runId: string } } }[];
      };
      expect(outbox.results.length).toBeGreaterThan(0);
      expect(outbox.results.every((r) => r.item.properties.runId === "restart-run-1")).toBe(true);
      const harvest = (await store.read("expired-tokens"))!.text;
      expect(harvest).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\./);
      expect(JSON.parse(harvest)).toMatchObject({ entries: [expect.objectContaining({ slot: "pending" })] });

      // Past the token's exp plus the policy's clock-skew and our 10 s, for the gateway and the next process alike.
      clock.advance((TOKEN_LIFETIME_S + 12) * 1000);
      sandbox.ingestion.setFault(undefined);
      const secondLogs = await invokeInNewProcess("restart-run-2");

      const first = ofRun("restart-run-1");
      expect(first).toHaveLength(outbox.results.length);
      const second = ofRun("restart-run-2");
      const expired = second.find((e) => e.data.baseData.name === "default/expired-token");
      expect(expired?.data.baseData.properties).toMatchObject({ outcome: "pass", actualStatus: "401" });
      expect(expired?.data.baseData.message).toMatch(
        /sent a token the probe acquired earlier \(this process or, from the state, an earlier one\)/,
      );
      // Nothing twice.
      const ids = sandbox.ingestion.availability().map((e) => e.data.baseData.id);
      expect(new Set(ids).size).toBe(ids.length);
      expect(JSON.parse((await store.read("outbox"))!.text)).toMatchObject({ results: [] });
      // The invocation's log says what it delivered from earlier runs, and that nothing waits.
      const summary = secondLogs.find((l) => /^availability: /.test(l.message));
      expect(summary?.message).toContain(`from earlier runs: ${first.length} delivered`);
      expect(summary?.message).not.toMatch(/waiting in the outbox/);
    },
  );
});
