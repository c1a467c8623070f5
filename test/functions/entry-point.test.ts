import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * Loads the COMPILED app the way the Functions host does (FACTS.md §5): the worker provides the
 * `@azure/functions-core` module, then imports every file matched by package.json's `main` glob; the
 * `app.*` calls register functions through that module. A child process plays the worker, with a
 * fake `@azure/functions-core` installed by a `--require` preload that records what is registered.
 * This is the only place the trigger options (schedule, authLevel, methods, route) are observable:
 * in-process, the package is in test mode and skips registration.
 */

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const execFileAsync = promisify(execFile);

/** The worker's side of the contract, as node_modules/@azure/functions/dist/azure-functions.js calls it. */
const FAKE_CORE_PRELOAD = String.raw`
const Module = require("node:module");
const state = { model: undefined, registrations: [], hooks: [] };
const core = {
  setProgrammingModel(model) { state.model = { name: model.name, version: model.version }; },
  getProgrammingModel() { return state.model; },
  registerFunction(metadata, handler) {
    state.registrations.push({ metadata, handlerIsFunction: typeof handler === "function" });
    return { dispose() {} };
  },
  registerHook(hookName) { state.hooks.push(hookName); return { dispose() {} }; },
  log() {},
};
globalThis.__fakeFunctionsCore = state;
const load = Module._load;
Module._load = function (request, ...rest) {
  return request === "@azure/functions-core" ? core : load.call(this, request, ...rest);
};
`;

/** Expands `main` relative to the app root, imports each file, prints what was registered. */
const LOAD_ENTRY_POINT = String.raw`
import { globSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
const root = process.cwd();
const { main } = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const files = globSync(main, { cwd: root }).sort();
for (const file of files) await import(pathToFileURL(join(root, file)).href);
const { model, registrations, hooks } = globalThis.__fakeFunctionsCore;
process.stdout.write(JSON.stringify({ main, files, model, registrations, hooks }));
process.exit(0);
`;

interface Binding {
  type: string;
  direction: "in" | "out";
  name: string;
  [option: string]: unknown;
}
interface Loaded {
  main: string;
  files: string[];
  model?: { name: string; version: string };
  registrations: { metadata: { name: string; bindings: Record<string, Binding> }; handlerIsFunction: boolean }[];
  hooks: string[];
}

let scratch: string;

/** Starts the child the way the worker would: app root as cwd, the app settings in its environment. */
async function loadEntryPoint(settings: Record<string, string>): Promise<Loaded> {
  const env: Record<string, string> = {};
  // The app must index with no PROBE_* setting at all: a missing setting fails an invocation, never indexing.
  for (const [key, value] of Object.entries(process.env)) if (value !== undefined && !/^(PROBE_|APPLICATIONINSIGHTS_)/.test(key)) env[key] = value;
  const { stdout } = await execFileAsync(
    process.execPath,
    ["--require", join(scratch, "fake-functions-core.cjs"), join(scratch, "load-entry-point.mjs")],
    { cwd: repoRoot, env: { ...env, ...settings }, timeout: 60_000, maxBuffer: 1 << 20 },
  );
  return JSON.parse(stdout) as Loaded;
}

function triggerOf(loaded: Loaded, functionName: string): Binding {
  const registration = loaded.registrations.find((r) => r.metadata.name === functionName);
  expect(registration, `${functionName} is registered`).toBeDefined();
  expect(registration!.handlerIsFunction).toBe(true);
  const triggers = Object.values(registration!.metadata.bindings).filter((b) => b.direction === "in");
  expect(triggers).toHaveLength(1);
  return triggers[0]!;
}

describe("the compiled entry point, loaded as the Functions host loads it", () => {
  let byDefault: Loaded;
  let withSchedule: Loaded;

  beforeAll(async () => {
    const pkg = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as { main: string };
    // `npm test` builds first; run alone, a missing or stale dist/ must fail loudly, not test old code.
    const sources = readdirSync(join(repoRoot, "src/functions"), { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".ts"));
    for (const file of sources) {
      const source = join(repoRoot, "src/functions", file);
      const compiled = join(repoRoot, "dist/src/functions", file.replace(/\.ts$/, ".js"));
      if (!existsSync(compiled)) throw new Error(`${compiled} is missing: run the build first (npm run build, or npx tsc -p tsconfig.json)`);
      if (statSync(compiled).mtimeMs < statSync(source).mtimeMs) {
        throw new Error(`${compiled} is older than ${source}: run the build first (npm run build, or npx tsc -p tsconfig.json)`);
      }
    }
    expect(pkg.main).toBe("dist/src/functions/*.js");

    scratch = await mkdtemp(join(tmpdir(), "apim-smoke-entry-point-"));
    await writeFile(join(scratch, "fake-functions-core.cjs"), FAKE_CORE_PRELOAD);
    await writeFile(join(scratch, "load-entry-point.mjs"), LOAD_ENTRY_POINT);
    [byDefault, withSchedule] = await Promise.all([loadEntryPoint({}), loadEntryPoint({ PROBE_SCHEDULE: "0 */1 * * * *" })]);
  }, 90_000);
  afterAll(async () => {
    if (scratch) await rm(scratch, { recursive: true, force: true });
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
    expect(trigger).toMatchObject({ type: "httpTrigger", authLevel: "function", methods: ["POST"], route: "probe/run" });
    const registration = byDefault.registrations.find((r) => r.metadata.name === "probeHttp")!;
    expect(registration.metadata.bindings["$return"]).toMatchObject({ type: "http", direction: "out" });
  });
});
