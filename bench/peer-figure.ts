import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { benchScript, runChild } from "./child.js";
import { cpuPerRequest, engineWithTargets, problemNotes, TARGETS } from "./engine-figures.js";
import { formatFigure, mb, ms, ratio, verdict } from "./figures.js";
import type { NewmanJob, NewmanJobResult } from "./newman-child.js";
import { buildNewmanCollection, newmanEnvironment, NEWMAN_PROBES } from "./newman-collection.js";
import type { SandboxProcess } from "./sandbox-client.js";
import { benchTargets } from "./targets.js";

/**
 * Figure 6: the engine and Newman over the same targets against the same sandbox, each in a fresh
 * process doing one run from cold (Newman asks for its tokens every run; so does a fresh engine).
 * Also Newman's CPU per request, which figures 2 and 7 are judged against.
 */
export async function peerFigure(
  sandbox: SandboxProcess,
  workDir: string,
  latencyMs: number,
  targets: number,
  targetConcurrency: number,
): Promise<{ line: string; newmanCpuPerRequestMs: number }> {
  await sandbox.setLatency(latencyMs);
  const s = sandbox.settings;
  const setting = (name: string): string => {
    const value = s[name];
    if (!value) throw new Error(`sandbox settings lack ${name}`);
    return value;
  };
  const urls = benchTargets(sandbox.apiUrls, targets, setting("PROBE_API_SCOPE")).targets.map((t) => t.url);
  const collectionFile = join(workDir, "peer.postman_collection.json");
  const collection = buildNewmanCollection({
    authorityHost: setting("PROBE_AUTHORITY_HOST"),
    tenantId: setting("PROBE_TENANT_ID"),
    clientId: setting("PROBE_CLIENT_ID"),
    apiScope: setting("PROBE_API_SCOPE"),
    wrongAudienceScope: sandbox.settings.PROBE_WRONG_AUDIENCE_SCOPE ?? `${setting("PROBE_CLIENT_ID")}/.default`,
    unassignedClientId: setting("PROBE_UNASSIGNED_CLIENT_ID"),
    targetUrls: urls,
  });
  await writeFile(collectionFile, JSON.stringify(collection));

  const ours = await engineWithTargets(sandbox, workDir, targets, { runs: 1, targetConcurrency });
  const oursRun = ours.result.runs[0];
  if (!oursRun) throw new Error("engine returned no run");

  const environment = newmanEnvironment({
    clientSecret: setting("PROBE_CLIENT_SECRET"),
    unassignedClientSecret: setting("PROBE_UNASSIGNED_CLIENT_SECRET"),
    subscriptionKey: setting("PROBE_SUBSCRIPTION_KEY"),
  });
  const newman = await runChild<NewmanJob, NewmanJobResult>(
    benchScript("newman-child"),
    { collectionFile, environment, caFile: sandbox.caFile },
    // Node's own trust store gets the sandbox CA too; TLS verification stays on.
    { env: { PATH: process.env.PATH ?? "", NODE_EXTRA_CA_CERTS: sandbox.caFile } },
  );
  const n = newman.result;
  const speedup = n.wallMs / oursRun.wallMs;
  const newmanCpuPerRequestMs = n.cpuMs / Math.max(1, n.requests);
  const cpu = cpuPerRequest(oursRun, newmanCpuPerRequestMs);
  const line = formatFigure({
    id: 6,
    title: `peer: ${targets} targets x ${NEWMAN_PROBES.length} API probes + 3 token requests, L=${latencyMs} ms, one cold run each in a fresh process`,
    measured:
      `ours ${ms(oursRun.wallMs)} run (${ms(ours.processWallMs)} process) / peak RSS ${mb(ours.result.peakRssBytes)}; ` +
      `Newman ${ms(n.wallMs)} run (${ms(newman.processWallMs)} process) / peak RSS ${mb(n.peakRssBytes)}; ` +
      `ours/Newman wall ${ratio(oursRun.wallMs / n.wallMs)} (${speedup.toFixed(1)}x faster), RSS ${ratio(ours.result.peakRssBytes / n.peakRssBytes)}`,
    target: `target >= ${TARGETS.peerSpeedup}x faster, CPU per request <= ${ratio(TARGETS.cpuPerRequestVsNewman)} of Newman's`,
    verdicts: [verdict(speedup >= TARGETS.peerSpeedup), cpu.verdict],
    details: [
      `cold runs: ours ${cpu.text.replace(" (figure 6)", "")}; Newman's CPU ${ms(n.cpuMs)} over its ${n.requests} requests (tokens included)`,
      `Newman: ${n.requests} requests, ${n.assertions} assertions, ${n.failedAssertions} failed${n.failures.length ? ` (${n.failures.join("; ")})` : ""}; ours: ${oursRun.apiRequests} API requests, ${ours.result.targets} targets, ${targetConcurrency} targets in flight`,
      ...problemNotes(ours.result),
    ],
  });
  return { line, newmanCpuPerRequestMs };
}
