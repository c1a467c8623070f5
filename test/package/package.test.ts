import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { functionsWorker, type FunctionsWorker, type LoadedApp } from "../support/functions-worker.js";

/**
 * `npm run package` builds the zip the deploy steps upload. Here it is built into a scratch folder,
 * unzipped by Info-ZIP's `unzip` (another implementation than the one that wrote it) into a fresh
 * folder outside the repository, so that nothing resolves from the repository's node_modules, and
 * then loaded as the Functions worker loads it and run against the sandbox.
 */

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const execFileAsync = promisify(execFile);
const TARGET_BYTES = 25 * 1024 * 1024;

function newestMtime(dir: string, ext: string): number {
  let newest = 0;
  for (const file of readdirSync(dir, { recursive: true, encoding: "utf8" })) {
    if (file.endsWith(ext)) newest = Math.max(newest, statSync(join(dir, file)).mtimeMs);
  }
  return newest;
}

describe("npm run package", () => {
  let scratch: string;
  let appRoot: string;
  let zipBytes: number;
  let printed: string;
  let names: string[];
  let worker: FunctionsWorker;
  let loaded: LoadedApp;

  beforeAll(async () => {
    // `npm test` builds first; run alone, a missing or stale dist/ must fail loudly, not test old code.
    for (const [source, compiled] of [
      ["scripts", "dist/scripts"],
      ["src", "dist/src"],
    ] as const) {
      if (!existsSync(join(repoRoot, compiled)))
        throw new Error(`${compiled} is missing: run the build first (npx tsc -p tsconfig.json)`);
      if (newestMtime(join(repoRoot, compiled), ".js") < newestMtime(join(repoRoot, source), ".ts")) {
        throw new Error(`${compiled} is older than ${source}: run the build first (npx tsc -p tsconfig.json)`);
      }
    }
    scratch = await mkdtemp(join(tmpdir(), "apim-smoke-package-"));
    const zip = join(scratch, "app.zip");
    ({ stdout: printed } = await execFileAsync(
      process.execPath,
      [join(repoRoot, "dist/scripts/package.js"), "--out", zip],
      { cwd: repoRoot, timeout: 120_000 },
    ));
    zipBytes = statSync(zip).size;
    appRoot = join(scratch, "app");
    // -t first: unzip checks every entry's CRC, so a writer bug fails here with unzip's own words.
    await execFileAsync("unzip", ["-tq", zip], { maxBuffer: 16 << 20 });
    await execFileAsync("unzip", ["-q", zip, "-d", appRoot], { maxBuffer: 16 << 20 });
    names = readdirSync(appRoot, { recursive: true, encoding: "utf8" }).map((n) => n.split("\\").join("/"));
    worker = await functionsWorker();
    loaded = await worker.load(appRoot);
  }, 180_000);
  afterAll(async () => {
    await worker?.dispose();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it("prints the zip's size, which is under 25 MB", () => {
    const mb = /: (\d+\.\d) MB \(/.exec(printed);
    expect(mb, printed).not.toBeNull();
    expect(Math.abs(Number(mb![1]) - zipBytes / 1024 / 1024)).toBeLessThanOrEqual(0.05);
    expect(zipBytes).toBeLessThan(TARGET_BYTES);
  });

  it("holds the app root files, the compiled src and production dependencies, and nothing else", () => {
    const top = new Set(names.map((n) => n.split("/")[0]));
    expect([...top].sort()).toEqual(["dist", "host.json", "node_modules", "package.json"]);
    expect(new Set(names.filter((n) => n.startsWith("dist/")).map((n) => n.split("/")[1]))).toEqual(new Set(["src"]));
    expect(readFileSync(join(appRoot, "package.json"), "utf8")).toBe(
      readFileSync(join(repoRoot, "package.json"), "utf8"),
    );
    expect(readFileSync(join(appRoot, "host.json"), "utf8")).toBe(readFileSync(join(repoRoot, "host.json"), "utf8"));
    expect(names.filter((n) => /\.(ts|map)$/.test(n))).toEqual([]);
    expect(names).toContain("dist/src/functions/probeHttp.js");
    expect(names).toContain("node_modules/applicationinsights/package.json");
    // Dev dependencies, the `node` package among them, stay out (a dev dependency that a production
    // package also needs, such as @types/node, is production in the lock and stays).
    const lock = JSON.parse(readFileSync(join(repoRoot, "package-lock.json"), "utf8")) as {
      packages: Record<string, { dev?: boolean }>;
    };
    const devOnly = Object.keys(lock.packages).filter(
      (key) => key.startsWith("node_modules/") && lock.packages[key]!.dev,
    );
    expect(devOnly).toContain("node_modules/node");
    expect(devOnly).toContain("node_modules/vitest");
    for (const key of devOnly) expect(existsSync(join(appRoot, key)), key).toBe(false);
  });

  it("is indexed by the worker's conventions: the main glob resolves and both functions register", () => {
    expect(loaded.files).toEqual(["dist/src/functions/probeHttp.js", "dist/src/functions/probeTimer.js"]);
    expect(loaded.model?.name).toBe("@azure/functions");
    expect(loaded.registrations.map((r) => r.metadata.name).sort()).toEqual(["probeHttp", "probeTimer"]);
    expect(loaded.registrations.every((r) => r.handlerIsFunction)).toBe(true);
  });

  it("runs the sandbox matrix from the unzipped folder, availability results included", async () => {
    const env: Record<string, string> = {};
    for (const [key, value] of Object.entries(process.env))
      if (value !== undefined && !/^(PROBE_|APPLICATIONINSIGHTS_|NODE_EXTRA_CA_CERTS$)/.test(key)) env[key] = value;
    const { stdout, stderr } = await execFileAsync(process.execPath, ["dist/src/cli/main.js", "demo"], {
      cwd: appRoot,
      env,
      timeout: 120_000,
      maxBuffer: 4 << 20,
    });
    const ok = /OK: (\d+) probes .*\((\d+) pass\)/.exec(stdout);
    expect(ok, stdout).not.toBeNull();
    expect(ok![2]).toBe(ok![1]);
    expect(`${stdout}\n${stderr}`).toMatch(/availability: (\d+)\/\1 results accepted by ingestion/);
  }, 120_000);
});
