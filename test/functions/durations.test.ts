import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import type { HttpHandler } from "@azure/functions";
import { createProbeEngine } from "../../src/core/probes/engine.js";
import type { ProbeResult } from "../../src/core/results/types.js";
import { loadSettings } from "../../src/core/settings/load-settings.js";
import type { Sandbox } from "../../src/sandbox/index.js";
import { durationToMs, ofRun, recordingContext, runRequest, useTriggerSandbox } from "./fixtures.js";

/**
 * The telemetry library must not distort what it measures: importing `applicationinsights` blocks
 * the event loop for about a second, so a request timed while it loads comes out a second slower
 * than the API is. The trigger module is imported fresh here, inside the test, and invoked at once:
 * the first run is the one that would overlap the import.
 *
 * Nothing here bounds a duration by the wall clock (a loaded machine may be slow): the load must
 * have finished before the run's first request was created, and each reported duration must lie
 * within the probe request's own span as undici announces it on its diagnostics channels.
 */

/** Results carry durations rounded to a tenth of a millisecond (roundMs in src/core/results/json.ts). */
const ROUNDING_MS = 0.05;

const require = createRequire(import.meta.url);
/** Whether `applicationinsights` has finished evaluating (its CommonJS entry is then `loaded`). */
const telemetryLoaded = (): boolean => require.cache[require.resolve("applicationinsights")]?.loaded === true;

interface RequestSpan {
  origin: string;
  path: string;
  /** performance.now() when undici created the request, and when its response had completed. */
  createdAt: number;
  completedAt?: number;
  /** Whether the telemetry library had finished loading when the request was created. */
  telemetryLoaded: boolean;
}

/** Records the undici requests created while `body` runs (the probe's, its token requests, the sandbox's own). */
async function recordingRequests<T>(
  body: () => Promise<T>,
): Promise<{ result: T; spans: RequestSpan[]; returnedAt: number }> {
  const spans = new Map<object, RequestSpan>();
  const onCreate = (message: unknown): void => {
    const { request } = message as { request: { origin: string; path: string } };
    spans.set(request, {
      origin: String(request.origin),
      path: request.path,
      createdAt: performance.now(),
      telemetryLoaded: telemetryLoaded(),
    });
  };
  const onComplete = (message: unknown): void => {
    const span = spans.get((message as { request: object }).request);
    if (span) span.completedAt = performance.now();
  };
  subscribe("undici:request:create", onCreate);
  subscribe("undici:request:trailers", onComplete);
  try {
    const result = await body();
    return { result, spans: [...spans.values()], returnedAt: performance.now() };
  } finally {
    unsubscribe("undici:request:create", onCreate);
    unsubscribe("undici:request:trailers", onComplete);
  }
}

describe("reported durations follow the backend's injected latency", () => {
  let sandbox!: Sandbox;
  let probeHttp: HttpHandler;
  useTriggerSandbox({ backendLatencyMs: 300 }, async (s) => {
    sandbox = s;
    // Warm the sandbox (the gateway's openid-config and JWKS cache, its TLS session) with the core
    // engine, which does not load the telemetry library: what remains is the probe app's own cost.
    const warmUp = createProbeEngine(loadSettings(sandbox.settings));
    await warmUp.run({ probes: ["valid"] });
    await warmUp.close();
  });

  /** One on-demand run of `token` and `valid`; the results and, per probe, the envelope's duration in ms. */
  async function timedRun(runId: string) {
    const { context } = recordingContext("probeHttp", runId);
    const {
      result: response,
      spans,
      returnedAt,
    } = await recordingRequests(async () => await probeHttp(runRequest({ probes: ["token", "valid"] }), context));
    expect(response.status).toBe(200);
    const { results } = JSON.parse(response.body as string) as { results: ProbeResult[] };
    const token = results.find((r) => r.probe === "token")!;
    const valid = results.find((r) => r.probe === "valid")!;
    const sent = new Map(
      ofRun(sandbox.ingestion.availability(), runId).map((e) => [e.data.baseData.name, e.data.baseData]),
    );
    const envelope = sent.get("default/valid");
    expect(envelope).toBeDefined();
    // The `valid` probe's one request to the API: the reported duration starts just before undici
    // creates it and ends after its response completed, before the handler returned.
    const api = new URL(sandbox.apiUrls[0]!);
    const toApi = spans.filter((s) => s.origin === api.origin && s.path.startsWith(api.pathname));
    expect(toApi).toHaveLength(1);
    const span = toApi[0]!;
    expect(span.completedAt).toBeDefined();
    expect(valid.durationMs).toBeGreaterThanOrEqual(span.completedAt! - span.createdAt - ROUNDING_MS);
    expect(valid.durationMs).toBeLessThanOrEqual(returnedAt - span.createdAt + ROUNDING_MS);
    return {
      token,
      valid,
      spans,
      envelopeMs: durationToMs(envelope!.duration),
      measuredMs: envelope!.measurements?.["durationMs"],
    };
  }

  it("on the first invocation after a cold start, when the telemetry library is still loading", async () => {
    // A cold worker: the warm-up above used the core engine, which does not load the library.
    expect(telemetryLoaded()).toBe(false);
    ({ probeHttp } = await import("../../src/functions/probeHttp.js"));
    const { token, valid, spans, envelopeMs, measuredMs } = await timedRun("cold");
    expect(valid.outcome).toBe("pass");
    expect(valid.durationMs).toBeGreaterThanOrEqual(300);
    expect(Math.abs(envelopeMs - valid.durationMs)).toBeLessThanOrEqual(1);
    expect(measuredMs).toBeCloseTo(valid.durationMs, 3);
    // The first timed step of a run is the token request. Had the library's ~1 s import overlapped
    // the run, it would have been created while the library was still loading.
    expect(token.outcome).toBe("pass");
    expect(spans.length).toBeGreaterThan(1);
    expect(spans.filter((s) => !s.telemetryLoaded)).toEqual([]);
  });

  it("on a warm worker, and it moves with the latency", async () => {
    sandbox.gateway.setBackend({ latencyMs: 700 });
    const { valid, envelopeMs } = await timedRun("warm-700");
    expect(valid.durationMs).toBeGreaterThanOrEqual(700);
    expect(Math.abs(envelopeMs - valid.durationMs)).toBeLessThanOrEqual(1);
  });
});
