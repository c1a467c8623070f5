import { mkdtempSync, readdirSync, readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getCACertificates, setDefaultCACertificates } from "node:tls";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../src/cli/cli.js";
import type { CliIo } from "../../src/cli/io.js";
import type { RunReport } from "../../src/core/results/types.js";
import { startSandbox, type Sandbox } from "../../src/sandbox/index.js";
import { firedRules, rowFromAvailabilityEnvelope } from "../infra/rules.js";

// Nothing lost. The CLI with --state-dir against the sandbox's ingestion, over HTTPS.

let sandbox: Sandbox;
const dir = mkdtempSync(join(tmpdir(), "lose-nothing-"));
let stateNo = 0;

beforeAll(async () => {
  sandbox = await startSandbox();
});
afterAll(() => sandbox.close());
afterEach(() => sandbox.ingestion.setFault(undefined));

function capture(extra: Record<string, string> = {}) {
  const out = { stdout: "", stderr: "" };
  const io: CliIo = {
    env: { ...sandbox.settings, ...extra },
    cwd: dir,
    stdout: { write: (s: string) => (out.stdout += s), isTTY: false },
    stderr: { write: (s: string) => (out.stderr += s), isTTY: false },
  };
  return { io, out };
}

async function run(args: readonly string[], extra: Record<string, string> = {}) {
  const { io, out } = capture(extra);
  const code = await runCli(["run", "--format", "json", ...args], io);
  return { code, stderr: out.stderr, report: JSON.parse(out.stdout) as RunReport };
}

const freshStateDir = (): string => join(dir, `state-${++stateNo}`);
const ranIn = (report: RunReport) => report.results.filter((r) => r.outcome !== "skipped");
const ofRun = (runId: string) =>
  sandbox.ingestion.availability().filter((e) => e.data.baseData.properties?.["runId"] === runId);

describe("an ingestion outage with --state-dir", () => {
  it(
    "keeps the run's results, and the next run delivers them once, first, with their own time and id",
    { timeout: 120_000 },
    async () => {
      const state = freshStateDir();
      sandbox.ingestion.setFault({ status: 503, retryAfterSeconds: 0, times: 10_000 });
      const down = await run(["--state-dir", state]);
      // Every probe passed and nothing was lost: kept is not lost, so no exit 3.
      expect(down.code).toBe(0);
      expect(down.stderr).toMatch(
        /availability: 0\/\d+ results accepted by ingestion, \d+ kept in state dir .* for a later run/,
      );
      expect(ofRun(down.report.runId)).toEqual([]);

      const outbox = readFileSync(join(state, "outbox.json"), "utf8");
      for (const secret of [sandbox.settings["PROBE_CLIENT_SECRET"]!, sandbox.settings["PROBE_SUBSCRIPTION_KEY"]!])
        expect(outbox).not.toContain(secret);
      expect(outbox).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\./);

      sandbox.ingestion.setFault(undefined);
      const up = await run(["--state-dir", state]);
      expect(up.code).toBe(0);
      const first = ofRun(down.report.runId);
      const second = ofRun(up.report.runId);
      expect(first).toHaveLength(ranIn(down.report).length);
      expect(second).toHaveLength(ranIn(up.report).length);
      expect(up.stderr).toMatch(new RegExp(`from earlier runs: ${first.length} delivered`));
      // Each kept result with the time its probe ran, not the time it was delivered.
      for (const result of ranIn(down.report)) {
        const sent = first.find((e) => e.data.baseData.name === `${result.target}/${result.probe}`)!;
        // Within the millisecond: the exporter turns the record's [s, ns] time back into a Date.
        expect(Math.abs(Date.parse(sent.time) - Date.parse(result.startedAt))).toBeLessThanOrEqual(1);
      }
      // Delivered before this run's own, in the order they happened.
      const order = sandbox.ingestion.availability().map((e) => e.data.baseData.properties?.["runId"]);
      expect(order.lastIndexOf(down.report.runId)).toBeLessThan(order.indexOf(up.report.runId));

      // Once: a third run has nothing left to deliver, and no id ever arrived twice.
      const third = await run(["--state-dir", state]);
      expect(third.code).toBe(0);
      expect(ofRun(down.report.runId)).toHaveLength(first.length);
      const ids = sandbox.ingestion.availability().map((e) => e.data.baseData.id);
      expect(new Set(ids).size).toBe(ids.length);
    },
  );

  it(
    "drops a result ingestion refuses for its content, says why, and counts it lost (exit 3)",
    { timeout: 60_000 },
    async () => {
      // A key ingestion does not know: every item is refused with 400, which no retry changes.
      const unknownKey = sandbox.settings["APPLICATIONINSIGHTS_CONNECTION_STRING"]!.replace(
        /InstrumentationKey=[^;]+/,
        "InstrumentationKey=0badc0de-0000-4000-8000-000000000000",
      );
      const state = freshStateDir();
      const refused = await run(["--state-dir", state, "--probe", "no-token"], {
        APPLICATIONINSIGHTS_CONNECTION_STRING: unknownKey,
      });
      expect(refused.code).toBe(3);
      expect(refused.stderr).toMatch(/1 not accepted and lost \(could not be kept\)/);
      expect(JSON.parse(readFileSync(join(state, "outbox.json"), "utf8"))).toMatchObject({ results: [] });
    },
  );

  it(
    "drops kept results older than ingestion keeps a record's own time, and says so",
    { timeout: 60_000 },
    async () => {
      const state = freshStateDir();
      mkdirSync(state, { recursive: true });
      const old = new Date(Date.now() - 50 * 60 * 60_000).toISOString();
      const item = {
        id: "old-result-1",
        name: "default/valid",
        time: old,
        success: false,
        durationMs: 1,
        runLocation: "cli",
        message: "m",
        properties: {},
        measurements: { durationMs: 1 },
      };
      writeFileSync(
        join(state, "outbox.json"),
        JSON.stringify({ version: 1, results: [{ item, attempts: 3, lastReason: "ingestion answered 503" }] }),
      );
      const next = await run(["--state-dir", state, "--probe", "no-token"]);
      expect(next.code).toBe(0);
      expect(next.stderr).toMatch(/from earlier runs: 1 too old and dropped/);
      expect(sandbox.ingestion.availability().some((e) => e.data.baseData.id === "old-result-1")).toBe(false);
    },
  );

  it(
    "sets a damaged outbox aside (a copy named with the time), says so, and does not exit 0",
    { timeout: 60_000 },
    async () => {
      const state = freshStateDir();
      mkdirSync(state, { recursive: true });
      const truncated = '{"version":1,"results":[{"item":{"id":"r1","name":"default/valid","time":"2026-';
      writeFileSync(join(state, "outbox.json"), truncated);
      const next = await run(["--state-dir", state, "--probe", "no-token"]);
      expect(next.code).toBe(3);
      expect(next.stderr).toMatch(
        /state: outbox\.json in state dir .* was damaged \(not JSON \(truncated or garbage\)\); a copy is kept as outbox\.damaged-\S+\.json/,
      );
      const copies = readdirSync(state).filter((f) => f.startsWith("outbox.damaged-"));
      expect(copies).toHaveLength(1);
      expect(readFileSync(join(state, copies[0]!), "utf8")).toBe(truncated);
      expect(next.report.delivery?.damagedState).toMatchObject({ document: "outbox.json", savedAs: copies[0] });
      // The new outbox is sound, and the run's own result went out.
      expect(JSON.parse(readFileSync(join(state, "outbox.json"), "utf8"))).toMatchObject({ version: 1, results: [] });
      expect(ofRun(next.report.runId)).toHaveLength(1);
    },
  );

  it(
    "sets a damaged token-summaries document aside too, says so, and does not exit 0",
    { timeout: 60_000 },
    async () => {
      const state = freshStateDir();
      mkdirSync(state, { recursive: true });
      writeFileSync(join(state, "tokens.json"), '{"version":7,"byClientAndScope":{}}');
      const next = await run(["--state-dir", state, "--probe", "token"]);
      expect(next.report.results[0]?.outcome).toBe("pass");
      expect(next.code).toBe(3);
      expect(next.stderr).toMatch(
        /state: tokens\.json in state dir .* was damaged \(format version 7; this release reads version 1\); a copy is kept as tokens\.damaged-\S+\.json/,
      );
      const copies = readdirSync(state).filter((f) => f.startsWith("tokens.damaged-"));
      expect(copies.map((f) => readFileSync(join(state, f), "utf8"))).toEqual(['{"version":7,"byClientAndScope":{}}']);
      // Once: the next run finds a sound document.
      const after = await run(["--state-dir", state, "--probe", "token"]);
      expect(after.code).toBe(0);
      expect(after.stderr).not.toMatch(/damaged/);
    },
  );

  it(
    "puts a delivery section in the JSON: sent, accepted, kept, lost, what waits, where",
    { timeout: 60_000 },
    async () => {
      const state = freshStateDir();
      sandbox.ingestion.setFault({ status: 503, retryAfterSeconds: 0, times: 10_000 });
      const down = await run(["--state-dir", state, "--probe", "no-token", "--probe", "valid"]);
      sandbox.ingestion.setFault(undefined);
      const host = new URL(sandbox.ingestion.origin).host;
      expect(down.report.delivery).toMatchObject({
        endpoint: host,
        sent: 2,
        accepted: 0,
        kept: 2,
        lost: 0,
        waiting: 2,
        evicted: { total: 0 },
        problems: [{ reason: `ingestion at ${host} answered 503`, results: 2, kept: 2 }],
      });
      expect(down.report.delivery?.store).toMatch(/^state dir /);
      expect(down.stderr).toContain(
        `availability: 2 not accepted (kept for a later run): ingestion at ${host} answered 503`,
      );
      const up = await run(["--state-dir", state, "--probe", "no-token"]);
      expect(up.report.delivery).toMatchObject({
        sent: 1,
        accepted: 1,
        earlier: { delivered: 2, refused: 0, tooOld: 0 },
        waiting: 0,
        problems: [],
      });
    },
  );

  it(
    "without a state dir, a run that loses results does not exit 0 and says how to keep them",
    { timeout: 60_000 },
    async () => {
      sandbox.ingestion.setFault({ status: 500, times: 10_000 });
      const lost = await run(["--probe", "no-token"]);
      expect(lost.code).toBe(3);
      expect(lost.stderr).toMatch(/1 not accepted and lost \(kept nowhere: pass --state-dir to keep them\)/);
    },
  );
});

describe("a run of more than 3 000 results", () => {
  it("delivers every one, exactly once, and says so in the delivery section", { timeout: 300_000 }, async () => {
    // 340 targets on the sandbox's API: nine results each, plus the run's forecasts (300 gave the 2 702 of the report).
    const targetsFile = join(dir, "targets-340.json");
    const settings = sandbox.settings;
    writeFileSync(
      targetsFile,
      JSON.stringify({
        targets: Array.from({ length: 340 }, (_, i) => ({
          name: `t${String(i).padStart(3, "0")}`,
          url: settings["PROBE_API_URL"],
          method: "GET",
          scope: settings["PROBE_API_SCOPE"],
          subscriptionKeySetting: "SCALE_SUBSCRIPTION_KEY",
          ...(settings["PROBE_POLICY_FILE"] ? { policyFile: settings["PROBE_POLICY_FILE"] } : {}),
        })),
      }),
    );
    const env = Object.fromEntries(
      Object.entries(settings).filter(
        ([k]) =>
          ![
            "PROBE_API_URL",
            "PROBE_API_METHOD",
            "PROBE_API_SCOPE",
            "PROBE_SUBSCRIPTION_KEY",
            "PROBE_POLICY_FILE",
          ].includes(k),
      ),
    );
    const out = { stdout: "", stderr: "" };
    const io: CliIo = {
      env: { ...env, PROBE_TARGETS_FILE: targetsFile, SCALE_SUBSCRIPTION_KEY: settings["PROBE_SUBSCRIPTION_KEY"]! },
      cwd: dir,
      stdout: { write: (s: string) => (out.stdout += s), isTTY: false },
      stderr: { write: (s: string) => (out.stderr += s), isTTY: false },
    };
    const code = await runCli(["run", "--format", "json", "--state-dir", freshStateDir()], io);
    const report = JSON.parse(out.stdout) as RunReport;
    const ran = ranIn(report).length;
    expect(ran).toBeGreaterThanOrEqual(3_000);
    expect(code).toBe(report.summary.ok ? 0 : 1);
    const ids = ofRun(report.runId).map((e) => e.data.baseData.id);
    expect(ids).toHaveLength(ran);
    expect(new Set(ids).size).toBe(ran);
    expect(report.delivery).toMatchObject({ sent: ran, accepted: ran, kept: 0, lost: 0, waiting: 0, problems: [] });
    expect(out.stderr).toContain(`availability: ${ran}/${ran} results accepted by ingestion`);
  });
});

describe("drift of the token itself", () => {
  it(
    "names a role removed from the probe's client between two runs, on the token result",
    { timeout: 60_000 },
    async () => {
      const state = freshStateDir();
      const original = sandbox.entra.model();
      // The API gets a second app role, assigned to the probe's client: the token carries both.
      const withTwo = sandbox.entra.model();
      const api = withTwo.apps.find((a) => a.appRoles.length > 0)!;
      const second = {
        id: "6f1c3a52-9d7e-4b0a-8c21-3e5f7a9b0d14",
        value: "Orders.Write",
        allowedMemberTypes: ["Application" as const],
      };
      api.appRoles.push(second);
      const probeClient = withTwo.roleAssignments[0]!.clientId;
      withTwo.roleAssignments.push({ clientId: probeClient, resourceClientId: api.clientId, roleId: second.id });
      sandbox.entra.setModel(withTwo);
      try {
        const before = await run(["--state-dir", state, "--probe", "token"]);
        expect(before.report.results[0]?.outcome).toBe("pass");
        expect(before.report.results[0]?.token?.roles).toContain("Orders.Write");
        expect(before.report.results[0]!.tokenDrift).toBeUndefined();

        // An admin removes the assignment by hand.
        const edited = sandbox.entra.model();
        edited.roleAssignments = edited.roleAssignments.filter((r) => r.roleId !== second.id);
        sandbox.entra.setModel(edited);
        const after = await run(["--state-dir", state, "--probe", "token"]);
        const token = after.report.results[0]!;
        expect(token.outcome).toBe("pass");
        expect(token.tokenDrift).toEqual(["roles-removed"]);
        // The JSON's `cause` is the diagnosis code (README, "The CLI").
        expect(token.cause).toBe("token-drift");
        expect(token.diagnosis).toMatchObject({
          evidence: { drift: "roles removed: Orders.Write", driftKinds: "roles-removed" },
        });
        const sent = ofRun(after.report.runId).find((e) => e.data.baseData.name === "default/token")!;
        expect(sent.data.baseData.properties).toMatchObject({ tokenDrift: "roles-removed", cause: "token-drift" });
        // And the warning alert fires on what ingestion received.
        const rows = ofRun(after.report.runId).map((e) => rowFromAvailabilityEnvelope(e));
        expect(firedRules(rows, Date.now() + 1_000)).toContain("token-drift");
      } finally {
        sandbox.entra.setModel(original);
      }
    },
  );
});

describe("Entra-authenticated ingestion (local authentication disabled)", () => {
  let entra: Sandbox;
  // @azure/identity finds the managed identity the way it does on Azure: IDENTITY_ENDPOINT and
  // IDENTITY_HEADER in the process environment, over TLS the process trusts (the sandbox CA, added
  // to this worker's default store for the test; vitest's forks pool gives each file its own process).
  const savedCa = getCACertificates("default");
  const savedEnv = {
    IDENTITY_ENDPOINT: process.env["IDENTITY_ENDPOINT"],
    IDENTITY_HEADER: process.env["IDENTITY_HEADER"],
  };
  beforeAll(async () => {
    entra = await startSandbox({ scenario: "entra-ingestion" });
    setDefaultCACertificates([...savedCa, entra.caPem]);
    process.env["IDENTITY_ENDPOINT"] = entra.settings["IDENTITY_ENDPOINT"];
    process.env["IDENTITY_HEADER"] = entra.settings["IDENTITY_HEADER"];
  });
  afterAll(async () => {
    setDefaultCACertificates(savedCa);
    for (const [k, v] of Object.entries(savedEnv)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    await entra.close();
  });

  const runAgainst = async (env: Record<string, string>, args: readonly string[]) => {
    const out = { stdout: "", stderr: "" };
    const io: CliIo = {
      env,
      cwd: dir,
      stdout: { write: (s: string) => (out.stdout += s), isTTY: false },
      stderr: { write: (s: string) => (out.stderr += s), isTTY: false },
    };
    const code = await runCli(["run", "--format", "json", ...args], io);
    return { code, stderr: out.stderr, report: JSON.parse(out.stdout) as RunReport };
  };

  it(
    "refuses results sent with the instrumentation key alone (401), so they are lost without a state dir",
    { timeout: 60_000 },
    async () => {
      const { APPLICATIONINSIGHTS_AUTHENTICATION_STRING: _auth, ...keyOnly } = entra.settings;
      const refused = await runAgainst(keyOnly, ["--probe", "no-token"]);
      expect(refused.code).toBe(3);
      expect(refused.stderr).toMatch(/0\/1 results accepted by ingestion, 1 not accepted and lost/);
      // Why, and what to do: the host, the status, Entra-authenticated ingestion.
      const host = new URL(
        entra.settings["APPLICATIONINSIGHTS_CONNECTION_STRING"]!.match(/IngestionEndpoint=([^;]+)/)![1]!,
      ).host;
      expect(refused.stderr).toContain(`availability: 1 not accepted (lost): ingestion at ${host} answered 401; fix: `);
      expect(refused.stderr).toMatch(/APPLICATIONINSIGHTS_AUTHENTICATION_STRING.*Monitoring Metrics Publisher/);
      expect(refused.report.delivery).toMatchObject({
        endpoint: host,
        sent: 1,
        accepted: 0,
        lost: 1,
        problems: [{ reason: `ingestion at ${host} answered 401`, results: 1, kept: 0 }],
      });
      expect(entra.ingestion.requests().some((r) => r.status === 401)).toBe(true);
      expect(entra.ingestion.availability()).toEqual([]);
    },
  );

  it(
    "accepts every result sent with the managed identity's Entra token (APPLICATIONINSIGHTS_AUTHENTICATION_STRING)",
    { timeout: 60_000 },
    async () => {
      expect(entra.settings["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"]).toMatch(/^Authorization=AAD;ClientId=/);
      const sent = await runAgainst({ ...entra.settings }, []);
      expect(sent.code).toBe(0);
      expect(sent.stderr).toMatch(
        new RegExp(`availability: ${ranIn(sent.report).length}/${ranIn(sent.report).length} results accepted`),
      );
      // The token came from the managed identity endpoint, for Azure Monitor.
      expect(
        entra.entra
          .tokenRequests()
          .some((r) => r.endpoint === "managed-identity" && /monitor\.azure\.com/.test(r.resource ?? r.scope ?? "")),
      ).toBe(true);
    },
  );
});

describe("noise control that never hides a security finding", () => {
  it(
    "sends a request once more after a gateway's 503, and the result says it took 2 attempts",
    { timeout: 60_000 },
    async () => {
      sandbox.gateway.setBackend({ status: 503, times: 1 });
      const before = sandbox.gateway.requests().length;
      const retried = await run(["--probe", "valid"]);
      expect(retried.code).toBe(0);
      expect(retried.report.results[0]).toMatchObject({ outcome: "pass", actualStatus: 200, attempts: 2 });
      expect(
        sandbox.gateway
          .requests()
          .slice(before)
          .map((r) => r.status),
      ).toEqual([503, 200]);
      const sent = ofRun(retried.report.runId)[0]!;
      expect(sent.data.baseData.properties).toMatchObject({ outcome: "pass", attempts: "2" });
    },
  );

  it(
    "reports a failure that persists after the one retry, with both attempts counted",
    { timeout: 60_000 },
    async () => {
      sandbox.gateway.setBackend({ status: 503, times: 2 });
      const failed = await run(["--probe", "valid"]);
      expect(failed.code).toBe(1);
      expect(failed.report.results[0]).toMatchObject({ outcome: "fail", actualStatus: 503, attempts: 2 });
    },
  );

  it(
    "never retries a request the gateway let in: a security outcome goes out on the first answer",
    { timeout: 60_000 },
    async () => {
      const open = await startSandbox({ scenario: "fail-open" });
      try {
        const out = { stdout: "", stderr: "" };
        const io: CliIo = {
          env: { ...open.settings },
          cwd: dir,
          stdout: { write: (s: string) => (out.stdout += s), isTTY: false },
          stderr: { write: (s: string) => (out.stderr += s), isTTY: false },
        };
        expect(await runCli(["run", "--format", "json", "--probe", "no-token"], io)).toBe(1);
        const report = JSON.parse(out.stdout) as RunReport;
        expect(report.results[0]).toMatchObject({ outcome: "security" });
        expect(report.results[0]!.attempts).toBeUndefined();
        expect(open.gateway.requests()).toHaveLength(1);
      } finally {
        await open.close();
      }
    },
  );
});
