import { gzipSync } from "node:zlib";
import { Agent, request } from "undici";
import { createSandboxCa } from "../../../src/sandbox/tls/ca.js";
import {
  SANDBOX_INSTRUMENTATION_KEY,
  startIngestionEmulator,
  type IngestionEmulator,
} from "../../../src/sandbox/ingestion/index.js";

/** An emulator on a certificate from the sandbox CA, and an undici agent that trusts only that CA. */
export async function startTrustedEmulator(): Promise<{ emulator: IngestionEmulator; caPem: string; agent: Agent }> {
  const ca = await createSandboxCa();
  const tls = await ca.issueServerCertificate();
  const emulator = await startIngestionEmulator({ tls });
  return { emulator, caPem: ca.certPem, agent: new Agent({ connect: { ca: ca.certPem } }) };
}

export function availabilityEnvelope(
  overrides: { iKey?: string; time?: string; baseData?: Record<string, unknown> } = {},
): Record<string, unknown> {
  return {
    ver: 1,
    name: "Microsoft.ApplicationInsights.Availability",
    time: overrides.time ?? "2025-01-02T03:04:05.678Z",
    sampleRate: 100,
    iKey: overrides.iKey ?? SANDBOX_INSTRUMENTATION_KEY,
    tags: { "ai.cloud.role": "apim-smoke-probe" },
    data: {
      baseType: "AvailabilityData",
      baseData: {
        ver: 2,
        id: "id-1",
        name: "orders/valid",
        duration: "00:00:00.125",
        success: true,
        runLocation: "sandbox",
        message: "200 as expected",
        properties: { target: "orders", probe: "valid" },
        measurements: { durationMs: 125 },
        ...overrides.baseData,
      },
    },
  };
}

export async function postTrack(
  emulator: IngestionEmulator,
  agent: Agent,
  body: string | Buffer,
  options: { path?: string; gzip?: boolean } = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; json: unknown }> {
  const payload = options.gzip === true ? gzipSync(body) : body;
  const response = await request(`${emulator.origin}${options.path ?? "/v2.1/track"}`, {
    method: "POST",
    dispatcher: agent,
    headers: { "content-type": "application/json", ...(options.gzip === true ? { "content-encoding": "gzip" } : {}) },
    body: payload,
  });
  return { status: response.statusCode, headers: response.headers, json: await response.body.json() };
}
