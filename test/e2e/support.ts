import { afterEach } from "vitest";
import { createProbeEngine, type ProbeEngineOptions } from "../../src/core/probes/engine.js";
import type { ProbeName } from "../../src/probe-matrix/names.js";
import type { ProbeResult, RunReport } from "../../src/core/results/types.js";
import { loadSettings } from "../../src/core/settings/load-settings.js";
import type { ProbeConfig } from "../../src/core/settings/types.js";
import { startSandbox, type Sandbox, type SandboxOptions } from "../../src/sandbox/index.js";

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
export async function runOnce(config: ProbeConfig, options: ProbeEngineOptions = {}, probes?: readonly ProbeName[]): Promise<RunReport> {
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
