import { format } from "node:util";
import { HttpRequest, InvocationContext, type LogLevel, type Timer } from "@azure/functions";
import { afterAll, beforeAll } from "vitest";
import { resetSharedProbeRuntime } from "../../src/functions/support/probe-runtime.js";
import { startSandbox, type Sandbox, type SandboxOptions } from "../../src/sandbox/index.js";
import { checkEnvelope, type AvailabilityEnvelope } from "../../src/sandbox/ingestion/index.js";

/**
 * Settings the probe runtime reads from process.env. They are cleared before a test file sets its
 * own, so a value left in the developer's shell (or by another file in the same worker) cannot leak in.
 */
const OWNED_ENV = /^(PROBE_|APPLICATIONINSIGHTS_|APPLICATION_INSIGHTS_|NODE_EXTRA_CA_CERTS$|IDENTITY_|REGION_NAME$)/;

/** Replaces the runtime's settings in process.env; returns a function that puts the previous ones back. */
export function useProcessEnv(settings: Readonly<Record<string, string>>): () => void {
  const saved = new Map<string, string | undefined>();
  const remember = (key: string): void => {
    if (!saved.has(key)) saved.set(key, process.env[key]);
  };
  for (const key of Object.keys(process.env)) {
    if (OWNED_ENV.test(key)) {
      remember(key);
      delete process.env[key];
    }
  }
  for (const [key, value] of Object.entries(settings)) {
    remember(key);
    process.env[key] = value;
  }
  return () => {
    for (const key of Object.keys(process.env)) if (OWNED_ENV.test(key) && !saved.has(key)) delete process.env[key];
    for (const [key, value] of saved) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  };
}

export interface LogEntry {
  level: LogLevel;
  message: string;
}

/** A real InvocationContext whose log lines are recorded (as the host would receive them). */
export function recordingContext(
  functionName: string,
  invocationId: string,
): { context: InvocationContext; logs: LogEntry[] } {
  const logs: LogEntry[] = [];
  const context = new InvocationContext({
    invocationId,
    functionName,
    logHandler: (level, ...args) => void logs.push({ level, message: format(...args) }),
  });
  return { context, logs };
}

export const warnings = (logs: readonly LogEntry[]): string[] =>
  logs.filter((l) => l.level === "warning").map((l) => l.message);

/** A Timer as the library types it (types/timer.d.ts) and the host fills it in. */
export function timerInfo(options: { isPastDue?: boolean; last?: string } = {}): Timer {
  const last = options.last ?? new Date(Date.now() - 5 * 60_000).toISOString();
  return {
    isPastDue: options.isPastDue ?? false,
    schedule: { adjustForDST: true },
    scheduleStatus: { last, next: new Date(Date.now() + 5 * 60_000).toISOString(), lastUpdated: last },
  };
}

export const PROBE_RUN_URL = "https://probe-app.azurewebsites.net/api/probe/run";

/** A POST to the on-demand trigger; `body` objects are sent as JSON with the JSON content type. */
export function runRequest(
  body?: unknown,
  options: { method?: string; headers?: Record<string, string> } = {},
): HttpRequest {
  const text = body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body);
  const headers: Record<string, string> = {
    ...(text !== undefined ? { "content-type": "application/json" } : {}),
    ...options.headers,
  };
  return new HttpRequest({
    method: options.method ?? "POST",
    url: PROBE_RUN_URL,
    headers,
    ...(text !== undefined ? { body: { string: text } } : {}),
  });
}

/** Asserts every envelope passes the documented schema again (the emulator already checked on receipt). */
export function schemaValid(envelopes: readonly AvailabilityEnvelope[]): boolean {
  return envelopes.every((e) => {
    const check = checkEnvelope(e);
    return check.ok && check.availability;
  });
}

/** `[D.]HH:MM:SS.fff` to milliseconds. */
export function durationToMs(duration: string): number {
  const match = /^(?:(\d+)\.)?(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,7}))?$/.exec(duration);
  if (!match) throw new Error(`not a [D.]HH:MM:SS.fff duration: ${duration}`);
  const [, days = "0", h = "0", m = "0", s = "0", fraction = "0"] = match;
  return (
    ((Number(days) * 24 + Number(h)) * 60 + Number(m)) * 60_000 + Number(s) * 1000 + Number(`0.${fraction}`) * 1000
  );
}

/** The availability envelopes of one run. */
export function ofRun(envelopes: readonly AvailabilityEnvelope[], runId: string): AvailabilityEnvelope[] {
  return envelopes.filter((e) => e.data.baseData.properties?.["runId"] === runId);
}

/**
 * For a describe block: a sandbox whose settings are the process's (what the triggers read), with a
 * fresh shared runtime before the first test and everything put back after the last. `ready` runs
 * once the sandbox is up, before its settings take effect (e.g. to warm it up).
 */
export function useTriggerSandbox(options: SandboxOptions, ready: (sandbox: Sandbox) => void | Promise<void>): void {
  let sandbox: Sandbox | undefined;
  let restoreEnv: (() => void) | undefined;
  beforeAll(async () => {
    sandbox = await startSandbox(options);
    await ready(sandbox);
    restoreEnv = useProcessEnv(sandbox.settings);
    await resetSharedProbeRuntime();
  });
  afterAll(async () => {
    await resetSharedProbeRuntime();
    restoreEnv?.();
    await sandbox?.close();
  });
}
