import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { benchScript, runChild } from "./child.js";
import type { ColdStartJob, ColdStartResult } from "./cold-start-child.js";
import { median } from "./stats.js";

interface ColdStartMedians {
  importMs: number;
  rssBytes: number;
}

export interface ColdStartFigures {
  repetitions: number;
  entryPoints: string[];
  functions: ColdStartMedians;
  libraries: ColdStartMedians;
  /** The libraries plus the other third-party packages our code imports: splits "ours" into theirs and ours. */
  dependencies: ColdStartMedians;
}

/**
 * Third-party packages src/core, src/policy and src/functions import besides the two libraries (kept
 * by hand: `grep -rhoE 'from "[^.]' src/core src/functions src/policy`).
 */
export const OTHER_DEPENDENCIES = ["@azure/msal-node", "undici", "zod", "jose", "fast-xml-parser"] as const;

const distSrc = (path: string): string => fileURLToPath(new URL(`../src/${path}`, import.meta.url));

/** The files package.json's `main` (dist/src/functions/*.js) names: what the Functions host loads. */
export function functionEntryPoints(): string[] {
  const dir = distSrc("functions/");
  return readdirSync(dir)
    .filter((f) => f.endsWith(".js"))
    .sort()
    .map((f) => `${dir}${f}`);
}

/** Alternates the two kinds so that a slow moment of the machine hits both alike; medians per kind. */
export async function measureColdStart(repetitions: number): Promise<ColdStartFigures> {
  const entryPoints = functionEntryPoints();
  const functionsJob: ColdStartJob = {
    kind: "functions",
    entryPoints,
    firstInvocationModules: [distSrc("functions/support/probe-runtime.js")],
    telemetryModule: distSrc("core/telemetry/index.js"),
  };
  const librariesJob: ColdStartJob = { kind: "libraries" };
  const dependenciesJob: ColdStartJob = {
    kind: "dependencies",
    packages: ["@azure/functions", "applicationinsights", ...OTHER_DEPENDENCIES],
  };
  const ours: ColdStartResult[] = [];
  const libs: ColdStartResult[] = [];
  const deps: ColdStartResult[] = [];
  const script = benchScript("cold-start-child");
  // Outside Azure: no settings needed to import; the child must not inherit the sandbox's settings.
  const env = { PATH: process.env.PATH ?? "" };
  for (let i = 0; i < repetitions; i++) {
    libs.push((await runChild<ColdStartJob, ColdStartResult>(script, librariesJob, { env })).result);
    ours.push((await runChild<ColdStartJob, ColdStartResult>(script, functionsJob, { env })).result);
    deps.push((await runChild<ColdStartJob, ColdStartResult>(script, dependenciesJob, { env })).result);
  }
  const summary = (rs: ColdStartResult[]): ColdStartMedians => ({
    importMs: median(rs.map((r) => r.importMs)),
    rssBytes: median(rs.map((r) => r.rssBytes)),
  });
  return { repetitions, entryPoints, functions: summary(ours), libraries: summary(libs), dependencies: summary(deps) };
}
