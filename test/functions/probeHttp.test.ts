import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { HttpResponseInit } from "@azure/functions";
import { PROBE_NAMES } from "../../src/probe-matrix/names.js";
import type { ProbeResult, RunSummary } from "../../src/core/results/types.js";
import { NOT_ALL_PASSED_STATUS, probeHttp } from "../../src/functions/probeHttp.js";
import {
  HTTP_RUN_BUDGET_MS,
  resetSharedProbeRuntime,
  sharedProbeRuntime,
} from "../../src/functions/support/probe-runtime.js";
import { MAX_RUN_REQUEST_BYTES } from "../../src/functions/support/run-request.js";
import type { Sandbox } from "../../src/sandbox/index.js";
import { expectEnvelopesMatchReport } from "./expect-availability.js";
import { ofRun, recordingContext, runRequest, useProcessEnv, useTriggerSandbox, type LogEntry } from "./fixtures.js";

/** The CLI's `--format json` document (src/core/results/json.ts). */
interface RunJson {
  runId: string;
  startedAt: string;
  trigger: string;
  source?: string;
  results: ProbeResult[];
  summary: RunSummary;
}

async function invoke(
  request: ReturnType<typeof runRequest>,
  invocationId: string,
): Promise<{ response: HttpResponseInit; logs: LogEntry[] }> {
  const { context, logs } = recordingContext("probeHttp", invocationId);
  const response = await probeHttp(request, context);
  return { response, logs };
}

function bodyOf(response: HttpResponseInit): unknown {
  expect(typeof response.body).toBe("string");
  return JSON.parse(response.body as string) as unknown;
}

const headerOf = (response: HttpResponseInit, name: string): string | undefined =>
  (response.headers as Record<string, string> | undefined)?.[name];

function errorOf(response: HttpResponseInit): { status: number; message: string } {
  expect(headerOf(response, "content-type")).toMatch(/^application\/json/);
  return (bodyOf(response) as { error: { status: number; message: string } }).error;
}

describe("probeHttp against the healthy sandbox", () => {
  let sandbox!: Sandbox;
  useTriggerSandbox({}, (s) => {
    sandbox = s;
  });

  it("answers 200 with the CLI's JSON when every probe passed, and reports each result to ingestion", async () => {
    const { response } = await invoke(runRequest(), "http-all");
    expect(response.status).toBe(200);
    expect(headerOf(response, "content-type")).toMatch(/^application\/json/);
    const run = bodyOf(response) as RunJson;
    expect(run).toMatchObject({ runId: "http-all", trigger: "http", summary: { ok: true } });
    expect(run.results.map((r) => r.probe).sort()).toEqual([...PROBE_NAMES].sort());
    expect(run).not.toHaveProperty("source");

    const report = { ...run, trigger: "http" as const };
    const sent = ofRun(sandbox.ingestion.availability(), run.runId);
    expectEnvelopesMatchReport(sent, report);
    // The answer says what became of the availability results, like the CLI's JSON.
    expect((run as { delivery?: unknown }).delivery).toMatchObject({
      endpoint: new URL(sandbox.ingestion.origin).host,
      sent: sent.length,
      accepted: sent.length,
      kept: 0,
      lost: 0,
      problems: [],
    });
  });

  it("narrows the run to the requested targets and probes, and carries source to every availability result", async () => {
    const request = runRequest({ targets: ["default"], probes: ["valid", "no-token"], source: "build 2024.11.3" });
    const run = vi.spyOn(sharedProbeRuntime(), "run");
    const { response } = await invoke(request, "http-filtered");
    const [options] = run.mock.calls[0] ?? [];
    run.mockRestore();
    // The run is bounded by what an HTTP trigger may take to answer, not by functionTimeout.
    expect(options).toMatchObject({
      trigger: "http",
      runBudgetMs: HTTP_RUN_BUDGET_MS,
      targets: ["default"],
      probes: ["valid", "no-token"],
    });
    expect(response.status).toBe(200);
    const json = bodyOf(response) as RunJson;
    expect(json.source).toBe("build 2024.11.3");
    expect(json.results.map((r) => `${r.target}/${r.probe}`).sort()).toEqual(["default/no-token", "default/valid"]);

    const sent = ofRun(sandbox.ingestion.availability(), "http-filtered");
    expectEnvelopesMatchReport(sent, { ...json, trigger: "http" });
    expect(sent.map((e) => e.data.baseData.properties?.["source"])).toEqual(["build 2024.11.3", "build 2024.11.3"]);
  });

  it("still answers with the run when ingestion is down, and names the results it lost in the log", async () => {
    sandbox.ingestion.setFault({ status: 503, times: 1000, retryAfterSeconds: 0 });
    try {
      const { response, logs } = await invoke(runRequest({ probes: ["valid", "no-token"] }), "http-ingestion-down");
      expect(response.status).toBe(200);
      expect(ofRun(sandbox.ingestion.availability(), "http-ingestion-down")).toEqual([]);
      const logged = logs
        .filter((l) => l.level === "warning")
        .map((l) => l.message)
        .join("\n");
      expect(logged).toContain("default/valid");
      expect(logged).toContain("default/no-token");
    } finally {
      sandbox.ingestion.setFault(undefined);
    }
  }, 60_000);

  it("runs everything for an empty body without a content type", async () => {
    const { response } = await invoke(runRequest(undefined), "http-empty");
    expect(response.status).toBe(200);
  });

  describe("refuses bad requests with 4xx and a message naming the problem, probing nothing", () => {
    const cases: { name: string; request: () => ReturnType<typeof runRequest>; status: number; mentions: RegExp }[] = [
      { name: "GET", request: () => runRequest(undefined, { method: "GET" }), status: 405, mentions: /POST/ },
      { name: "PUT", request: () => runRequest({}, { method: "PUT" }), status: 405, mentions: /POST/ },
      { name: "malformed JSON", request: () => runRequest('{"probes": ["valid"'), status: 400, mentions: /JSON/ },
      { name: "a JSON array", request: () => runRequest(["valid"]), status: 400, mentions: /body/ },
      {
        name: "an unknown probe",
        request: () => runRequest({ probes: ["valid", "sql-injection"] }),
        status: 400,
        mentions: /probes\.1.*unknown probe/,
      },
      {
        name: "an unknown target",
        request: () => runRequest({ targets: ["payments"] }),
        status: 400,
        mentions: /targets: 1 name\(s\) match no configured target; configured: default/,
      },
      {
        name: "a url",
        request: () => runRequest({ url: "https://evil.example/api" }),
        status: 400,
        mentions: /unknown field.*"url"/,
      },
      {
        name: "a token",
        request: () => runRequest({ probes: ["valid"], token: "eyJhbGciOiJub25lIn0.e30." }),
        status: 400,
        mentions: /unknown field.*"token"/,
      },
      {
        name: "a subscription key",
        request: () => runRequest({ subscriptionKey: "k" }),
        status: 400,
        mentions: /unknown field.*"subscriptionKey"/,
      },
      { name: "a source that is not text", request: () => runRequest({ source: 42 }), status: 400, mentions: /source/ },
      {
        name: "an oversized body",
        request: () => runRequest({ source: "x".repeat(MAX_RUN_REQUEST_BYTES) }),
        status: 413,
        mentions: new RegExp(String(MAX_RUN_REQUEST_BYTES)),
      },
      {
        name: "an oversized body declared by content-length",
        request: () => runRequest({}, { headers: { "content-length": String(MAX_RUN_REQUEST_BYTES + 1) } }),
        status: 413,
        mentions: /larger than/,
      },
      {
        name: "a form content type",
        request: () => runRequest("probes=valid", { headers: { "content-type": "application/x-www-form-urlencoded" } }),
        status: 415,
        mentions: /application\/json/,
      },
      {
        name: "a JSON body sent as text/plain",
        request: () => runRequest('{"probes":["valid"]}', { headers: { "content-type": "text/plain" } }),
        status: 415,
        mentions: /application\/json/,
      },
    ];

    it.each(cases)("$name: $status", async ({ request, status, mentions }) => {
      const gatewayCallsBefore = sandbox.gateway.requests().length;
      const { response } = await invoke(request(), `http-bad-${status}`);
      expect(response.status).toBe(status);
      const error = errorOf(response);
      expect(error.status).toBe(status);
      expect(error.message).toMatch(mentions);
      if (status === 405) expect(headerOf(response, "allow")).toBe("POST");
      expect(sandbox.gateway.requests().length).toBe(gatewayCallsBefore);
      expect(ofRun(sandbox.ingestion.availability(), `http-bad-${status}`)).toEqual([]);
    });
  });
});

describe("probeHttp when the gateway lets bad callers in (fail-open)", () => {
  let sandbox!: Sandbox;
  useTriggerSandbox({ scenario: "fail-open" }, (s) => {
    sandbox = s;
  });

  it(`answers ${NOT_ALL_PASSED_STATUS} with the results, security outcomes sent as failures and logged as errors`, async () => {
    const { response, logs } = await invoke(runRequest({ source: "pipeline 7" }), "http-fail-open");
    expect(response.status).toBe(422);
    const run = bodyOf(response) as RunJson;
    expect(run.summary.ok).toBe(false);
    const security = run.results.filter((r) => r.outcome === "security");
    expect(security.map((r) => r.probe)).toEqual(expect.arrayContaining(["no-token", "forged-signature", "alg-none"]));

    const sent = ofRun(sandbox.ingestion.availability(), "http-fail-open");
    expectEnvelopesMatchReport(sent, { ...run, trigger: "http" });
    for (const r of security) {
      expect(sent.find((e) => e.data.baseData.name === `default/${r.probe}`)?.data.baseData).toMatchObject({
        success: false,
        properties: { outcome: "security", source: "pipeline 7" },
      });
      expect(logs.some((l) => l.level === "error" && l.message.startsWith(`default/${r.probe}: security`))).toBe(true);
    }
  });
});

describe("probeHttp with a settings error", () => {
  const CANARY_SECRET = "canary-secret-3b9f0c1e7d";
  const CANARY_KEY = "canary-key-8e2a5d4f61";
  const CANARY_UNASSIGNED = "canary-unassigned-0f7c2b";
  let restoreEnv: () => void;

  beforeAll(async () => {
    restoreEnv = useProcessEnv({
      PROBE_TENANT_ID: "11111111-2222-3333-4444-555555555555",
      PROBE_CLIENT_ID: "66666666-7777-8888-9999-000000000000",
      PROBE_CLIENT_SECRET: CANARY_SECRET,
      PROBE_API_URL: "http://apim.example.net/orders/v1/orders",
      PROBE_API_SCOPE: "api://orders/.default",
      PROBE_SUBSCRIPTION_KEY: CANARY_KEY,
      PROBE_UNASSIGNED_CLIENT_ID: "12121212-3434-5656-7878-909090909090",
      PROBE_UNASSIGNED_CLIENT_SECRET: CANARY_UNASSIGNED,
    });
    await resetSharedProbeRuntime();
  });
  afterAll(async () => {
    await resetSharedProbeRuntime();
    restoreEnv();
  });

  it("answers 500 naming the setting, and no secret reaches the response or the log", async () => {
    const { response, logs } = await invoke(runRequest({ probes: ["valid"] }), "http-bad-settings");
    expect(response.status).toBe(500);
    const error = errorOf(response);
    expect(error.message).toContain("PROBE_API_URL");
    expect(logs.some((l) => l.level === "error" && l.message.includes("PROBE_API_URL"))).toBe(true);

    const everything = `${JSON.stringify(response)}\n${logs.map((l) => l.message).join("\n")}`;
    for (const canary of [CANARY_SECRET, CANARY_KEY, CANARY_UNASSIGNED]) expect(everything).not.toContain(canary);
  });

  it("reads the settings again on the next invocation, so a fixed app setting takes effect without a restart", async () => {
    process.env.PROBE_API_URL = "ftp://apim.example.net/orders";
    const { response } = await invoke(runRequest(), "http-bad-settings-2");
    expect(response.status).toBe(500);
    expect(errorOf(response).message).toContain("PROBE_API_URL");
  });

  it("refuses a bad ingestion connection string as a settings error too, before probing", async () => {
    process.env.PROBE_API_URL = "https://apim.example.net/orders/v1/orders";
    process.env.APPLICATIONINSIGHTS_CONNECTION_STRING = `InstrumentationKey=not-a-guid;IngestionEndpoint=http://127.0.0.1:1/`;
    await resetSharedProbeRuntime();
    const { response, logs } = await invoke(runRequest(), "http-bad-connection-string");
    expect(response.status).toBe(500);
    expect(errorOf(response).message).toContain("APPLICATIONINSIGHTS_CONNECTION_STRING");
    const everything = `${JSON.stringify(response)}\n${logs.map((l) => l.message).join("\n")}`;
    for (const canary of [CANARY_SECRET, CANARY_KEY, CANARY_UNASSIGNED]) expect(everything).not.toContain(canary);
  });
});
