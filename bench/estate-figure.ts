import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { readApiopsFolder } from "../src/apiops/folder.js";
import { targetsFromFolder } from "../src/apiops/targets.js";
import { ORDERS_API, SANDBOX_TENANT_ID } from "../src/sandbox/identities.js";
import { cpuPerRequest, runEngine } from "./engine-figures.js";
import { formatFigure, mb, ms, ratio, verdict } from "./figures.js";
import { startSandboxProcess } from "./sandbox-client.js";
import { idealWallMs } from "./stats.js";

/** The targets: `targets` on 300 APIs in under 2 s; the estate run by figure 2's rules. */
export const ESTATE_TARGETS = { targetsMs: 2000, wallRatio: 1.2, peakRssBytes: 200 * 1024 * 1024 } as const;

/**
 * Figure 7: a generated APIOps folder of `count` APIs (global validation, each API with its policy
 * and specification), `targets --apiops` timed in this process, then the whole estate probed against
 * the sandbox serving that folder: wall against its ideal and the engine's peak RSS.
 */
export async function estateFigure(
  workDir: string,
  count: number,
  latencyMs: number,
  targetConcurrency: number,
  newmanCpuPerRequestMs: number,
): Promise<string> {
  const folder = join(workDir, "estate");
  await writeEstate(folder, count);
  const started = performance.now();
  const { targets } = targetsFromFolder(readApiopsFolder(folder), {
    gateway: "https://contoso.azure-api.net",
    subscriptionKeySetting: "APIM_SUBSCRIPTION_KEY",
  });
  const targetsMs = performance.now() - started;

  const sandbox = await startSandboxProcess({ extraApis: 0, backendLatencyMs: latencyMs, apiops: folder });
  try {
    const { result } = await runEngine(sandbox, { ...sandbox.settings }, { runs: 2, targetConcurrency });
    const [cold, warm] = result.runs;
    if (!cold || !warm) throw new Error("estate bench needs 2 runs");
    const c = targetConcurrency * warm.apiProbesPerTarget;
    const ideal = idealWallMs(warm.apiRequests, c, latencyMs);
    // As figure 2: the wall ratio is printed with its verdict, CPU per request decides.
    const cpu = cpuPerRequest(warm, newmanCpuPerRequestMs);
    return formatFigure({
      id: 7,
      title: `estate: a generated APIOps folder of ${count} APIs; targets --apiops, then the estate probed (${warm.apiRequests} requests, C = ${c}, L=${latencyMs} ms)`,
      measured: `targets ${ms(targetsMs)} for ${targets.length} targets; warm wall ${ms(warm.wallMs)} / ideal ${ms(ideal)} -> ${ratio(warm.wallMs / ideal)} (wall ${verdict(warm.wallMs / ideal <= ESTATE_TARGETS.wallRatio)} against ${ESTATE_TARGETS.wallRatio}; cold ${ratio(cold.wallMs / ideal)}); ${cpu.text}; peak RSS ${mb(result.peakRssBytes)}`,
      target: `targets < ${ms(ESTATE_TARGETS.targetsMs)}, judged on CPU per request, RSS < ${mb(ESTATE_TARGETS.peakRssBytes)}`,
      verdicts: [
        verdict(targetsMs < ESTATE_TARGETS.targetsMs),
        cpu.verdict,
        verdict(result.peakRssBytes < ESTATE_TARGETS.peakRssBytes),
      ],
      details: [],
    });
  } finally {
    await sandbox.close();
  }
}

/** An extractor-layout folder: global validate-jwt over named values, `count` APIs with a GET /health each. */
async function writeEstate(root: string, count: number): Promise<void> {
  const namedValues: Record<string, string> = {
    "tenant-id": SANDBOX_TENANT_ID,
    "api-client-id": ORDERS_API.clientId,
    "api-app-id-uri": ORDERS_API.appIdUri,
  };
  for (const [name, value] of Object.entries(namedValues)) {
    await mkdir(join(root, "named values", name), { recursive: true });
    await writeFile(
      join(root, "named values", name, "namedValueInformation.json"),
      JSON.stringify({ properties: { displayName: name, value } }),
    );
  }
  await writeFile(
    join(root, "policy.xml"),
    `<policies><inbound><validate-jwt header-name="Authorization" require-scheme="Bearer">
  <openid-config url="https://login.microsoftonline.com/{{tenant-id}}/v2.0/.well-known/openid-configuration" />
  <audiences><audience>{{api-app-id-uri}}</audience><audience>{{api-client-id}}</audience></audiences>
</validate-jwt></inbound><backend><forward-request /></backend></policies>`,
  );
  for (let i = 1; i <= count; i++) {
    const dir = join(root, "apis", `api-${i}`);
    await mkdir(dir, { recursive: true });
    await writeFile(
      join(dir, "apiInformation.json"),
      JSON.stringify({
        properties: { displayName: `API ${i}`, path: `api-${i}`, isCurrent: true, subscriptionRequired: true },
      }),
    );
    await writeFile(
      join(dir, "policy.xml"),
      "<policies><inbound><base /></inbound><backend><base /></backend></policies>",
    );
    await writeFile(
      join(dir, "specification.json"),
      JSON.stringify({
        openapi: "3.0.1",
        info: { title: `API ${i}`, version: "1" },
        paths: { "/health": { get: { operationId: "get-health" } } },
      }),
    );
  }
}
