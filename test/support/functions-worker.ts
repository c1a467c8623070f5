import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

/**
 * Loads a Functions app the way the Node.js worker does: the worker provides the
 * `@azure/functions-core` module, then imports every file matched by package.json's `main` glob
 * (relative to the app root); the `app.*` calls register functions through that module
 * (https://learn.microsoft.com/azure/azure-functions/functions-reference-node). A child process plays
 * the worker, with a fake `@azure/functions-core` installed by a `--require` preload that records
 * what is registered. In-process, `@azure/functions` is in test mode and skips registration.
 */

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

/**
 * Expands `main` relative to the app root, imports each file, prints what was registered and which
 * npm packages were loaded on the way (a resolve hook sees both `import` and `require`).
 */
const LOAD_ENTRY_POINT = String.raw`
import { globSync, readFileSync } from "node:fs";
import { registerHooks } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
const packages = new Set();
registerHooks({
  resolve(specifier, context, next) {
    const resolved = next(specifier, context);
    const inPackage = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(resolved.url);
    if (inPackage) packages.add(inPackage[1]);
    return resolved;
  },
});
const root = process.cwd();
const { main } = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const files = globSync(main, { cwd: root }).sort();
for (const file of files) await import(pathToFileURL(join(root, file)).href);
const { model, registrations, hooks } = globalThis.__fakeFunctionsCore;
process.stdout.write(JSON.stringify({ main, files, model, registrations, hooks, packages: [...packages].sort() }));
process.exit(0);
`;

export interface Binding {
  type: string;
  direction: "in" | "out";
  name: string;
  [option: string]: unknown;
}

export interface LoadedApp {
  main: string;
  files: string[];
  model?: { name: string; version: string };
  registrations: { metadata: { name: string; bindings: Record<string, Binding> }; handlerIsFunction: boolean }[];
  hooks: string[];
  /** npm packages (by name) that loading the entry files resolved into. */
  packages: string[];
}

export interface FunctionsWorker {
  /** Loads the app rooted at `appRoot` with these app settings (and no PROBE_* or APPLICATIONINSIGHTS_* from the caller's environment). */
  load(appRoot: string, settings?: Record<string, string>): Promise<LoadedApp>;
  dispose(): Promise<void>;
}

export async function functionsWorker(): Promise<FunctionsWorker> {
  const scratch = await mkdtemp(join(tmpdir(), "apim-smoke-worker-"));
  await writeFile(join(scratch, "fake-functions-core.cjs"), FAKE_CORE_PRELOAD);
  await writeFile(join(scratch, "load-entry-point.mjs"), LOAD_ENTRY_POINT);
  return {
    async load(appRoot, settings = {}) {
      const env: Record<string, string> = {};
      // The app must index with no PROBE_* setting at all: a missing setting fails an invocation, never indexing.
      for (const [key, value] of Object.entries(process.env))
        if (value !== undefined && !/^(PROBE_|APPLICATIONINSIGHTS_)/.test(key)) env[key] = value;
      const { stdout } = await execFileAsync(
        process.execPath,
        ["--require", join(scratch, "fake-functions-core.cjs"), join(scratch, "load-entry-point.mjs")],
        { cwd: appRoot, env: { ...env, ...settings }, timeout: 60_000, maxBuffer: 1 << 20 },
      );
      return JSON.parse(stdout) as LoadedApp;
    },
    async dispose() {
      await rm(scratch, { recursive: true, force: true });
    },
  };
}
