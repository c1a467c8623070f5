import { mkdtemp, rm, writeFile } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach } from "vitest";
import { createProbeEngine, type ProbeEngineOptions } from "../../src/core/probes/engine.js";
import type { ProbeName } from "../../src/probe-matrix/names.js";
import type { ProbeResult, RunReport } from "../../src/core/results/types.js";
import { loadSettings } from "../../src/core/settings/load-settings.js";
import type { ProbeConfig } from "../../src/core/settings/types.js";
import { startSandbox, type Sandbox, type SandboxOptions } from "../../src/sandbox/index.js";
import { startLoopbackHttps, type LoopbackServer } from "../core/http/loopback-https.js";

/** Sandboxes started through the returned function are closed after each test of the file. */
export function sandboxPerTest(): (options?: SandboxOptions) => Promise<Sandbox> {
  const opened: Sandbox[] = [];
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((s) => s.close()));
  });
  return async (options = {}) => {
    const sandbox = await startSandbox(options);
    opened.push(sandbox);
    return sandbox;
  };
}

/** The sandbox's settings, overridden (`undefined` removes one). */
export function settingsOf(sandbox: Sandbox, env: Record<string, string | undefined> = {}): ProbeConfig {
  return loadSettings({ ...sandbox.settings, ...env });
}

/** One run of a fresh engine, closed afterwards. */
export async function runOnce(
  config: ProbeConfig,
  options: ProbeEngineOptions = {},
  probes?: readonly ProbeName[],
): Promise<RunReport> {
  const engine = createProbeEngine(config, options);
  try {
    return await engine.run(probes ? { probes } : {});
  } finally {
    await engine.close();
  }
}

export function resultOf(report: RunReport, probe: ProbeName): ProbeResult {
  const found = report.results.find((r) => r.probe === probe);
  if (!found) throw new Error(`no result for ${probe}`);
  return found;
}

/**
 * A gateway written apart from the sandbox (its own HTTPS server, certificate and answers), closed
 * after each test. `start` serves `handler` and returns the settings that point the sandbox's probe at
 * it: PROBE_API_URL on it, no policy file (it has none), and a CA file trusting both it and the sandbox.
 */
export function independentGatewayPerTest(): (
  sandbox: Sandbox,
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  path?: string,
) => Promise<{ gateway: LoopbackServer; settings: Record<string, string | undefined> }> {
  const opened: { gateway: LoopbackServer; caDir: string }[] = [];
  afterEach(async () => {
    for (const { gateway, caDir } of opened.splice(0)) {
      await gateway.close();
      await rm(caDir, { recursive: true, force: true });
    }
  });
  return async (sandbox, handler, path = "/orders/v1/health") => {
    const gateway = await startLoopbackHttps(handler);
    const caDir = await mkdtemp(join(tmpdir(), "independent-gateway-"));
    opened.push({ gateway, caDir });
    const caFile = join(caDir, "ca.pem");
    await writeFile(caFile, `${sandbox.caPem.trim()}\n${gateway.caPem.trim()}\n`);
    return {
      gateway,
      settings: {
        ...sandbox.settings,
        PROBE_API_URL: `${gateway.origin}${path}`,
        PROBE_POLICY_FILE: undefined,
        NODE_EXTRA_CA_CERTS: caFile,
      },
    };
  };
}
