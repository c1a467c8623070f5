import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { functionsWorker, type Binding, type FunctionsWorker, type LoadedApp } from "../support/functions-worker.js";

/**
 * Loads the COMPILED app the way the Functions host does (test/support/functions-worker.ts). This is
 * the only place the trigger options (schedule, authLevel, methods, route) are observable:
 * in-process, the package is in test mode and skips registration.
 */

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** `name` and every package it depends on, transitively, as package-lock.json resolves them from the root. */
function dependencyClosure(name: string): Set<string> {
  const lock = JSON.parse(readFileSync(join(repoRoot, "package-lock.json"), "utf8")) as {
    packages: Record<string, { dependencies?: Record<string, string> }>;
  };
  const closure = new Set<string>();
  const visit = (pkg: string): void => {
    if (closure.has(pkg)) return;
    closure.add(pkg);
    for (const dep of Object.keys(lock.packages[`node_modules/${pkg}`]?.dependencies ?? {})) visit(dep);
  };
  visit(name);
  return closure;
}

function triggerOf(loaded: LoadedApp, functionName: string): Binding {
  const registration = loaded.registrations.find((r) => r.metadata.name === functionName);
  expect(registration, `${functionName} is registered`).toBeDefined();
  expect(registration!.handlerIsFunction).toBe(true);
  const triggers = Object.values(registration!.metadata.bindings).filter((b) => b.direction === "in");
  expect(triggers).toHaveLength(1);
  return triggers[0]!;
}

describe("the compiled entry point, loaded as the Functions host loads it", () => {
  let worker: FunctionsWorker;
  let byDefault: LoadedApp;
  let withSchedule: LoadedApp;

  beforeAll(async () => {
    const pkg = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as { main: string };
    // `npm test` builds first; run alone, a missing or stale dist/ must fail loudly, not test old code.
    const sources = readdirSync(join(repoRoot, "src/functions"), { recursive: true, encoding: "utf8" }).filter((f) =>
      f.endsWith(".ts"),
    );
    for (const file of sources) {
      const source = join(repoRoot, "src/functions", file);
      const compiled = join(repoRoot, "dist/src/functions", file.replace(/\.ts$/, ".js"));
      if (!existsSync(compiled))
        throw new Error(`${compiled} is missing: run the build first (npm run build, or npx tsc -p tsconfig.json)`);
      if (statSync(compiled).mtimeMs < statSync(source).mtimeMs) {
        throw new Error(
          `${compiled} is older than ${source}: run the build first (npm run build, or npx tsc -p tsconfig.json)`,
        );
      }
    }
    expect(pkg.main).toBe("dist/src/functions/*.js");

    worker = await functionsWorker();
    [byDefault, withSchedule] = await Promise.all([
      worker.load(repoRoot),
      worker.load(repoRoot, { PROBE_SCHEDULE: "0 */1 * * * *" }),
    ]);
  }, 90_000);
  afterAll(async () => {
    await worker?.dispose();
  });

  it("expands the main glob to the two trigger modules and registers through the worker's core API", () => {
    expect(byDefault.files).toEqual(["dist/src/functions/probeHttp.js", "dist/src/functions/probeTimer.js"]);
    expect(byDefault.model?.name).toBe("@azure/functions");
    expect(byDefault.registrations.map((r) => r.metadata.name).sort()).toEqual(["probeHttp", "probeTimer"]);
  });

  it("registers probeTimer as a timer trigger on the documented default schedule", () => {
    expect(triggerOf(byDefault, "probeTimer")).toMatchObject({ type: "timerTrigger", schedule: "0 */5 * * * *" });
  });

  it("registers probeTimer on %PROBE_SCHEDULE% when that app setting exists, for the host to resolve", () => {
    expect(triggerOf(withSchedule, "probeTimer")).toMatchObject({ type: "timerTrigger", schedule: "%PROBE_SCHEDULE%" });
  });

  it("registers probeHttp as a function-key HTTP trigger for POST on probe/run, answering through the http output", () => {
    const trigger = triggerOf(byDefault, "probeHttp");
    expect(trigger).toMatchObject({
      type: "httpTrigger",
      authLevel: "function",
      methods: ["POST"],
      route: "probe/run",
    });
    const registration = byDefault.registrations.find((r) => r.metadata.name === "probeHttp")!;
    expect(registration.metadata.bindings["$return"]).toMatchObject({ type: "http", direction: "out" });
  });

  it("indexes with nothing but @azure/functions: the probe runtime and the telemetry SDK load on the first invocation", () => {
    // The worker warns about an entry file that takes over a second to load; importing
    // applicationinsights alone blocks the event loop for about that long.
    const allowed = dependencyClosure("@azure/functions");
    expect(byDefault.packages).toContain("@azure/functions");
    expect(byDefault.packages.filter((name) => !allowed.has(name))).toEqual([]);
  });
});
