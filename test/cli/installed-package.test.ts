import { execFile, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { envFileText } from "../../src/cli/commands/sandbox.js";
import { startSandbox, type Sandbox } from "../../src/sandbox/index.js";

/**
 * The package as a user gets it: `npm pack` (its prepack builds), then `npm install -g --prefix`
 * of the tarball into an empty folder, then the `apim-smoke` that npm linked into `<prefix>/bin`,
 * started the way a shell starts it. Dependencies come from npm's cache, else the registry.
 */
const root = fileURLToPath(new URL("../../", import.meta.url));
const work = mkdtempSync(join(tmpdir(), "installed-package-"));
const prefix = join(work, "prefix");
const run = promisify(execFile);
/**
 * npm as the user has it: the machine's own (its global npmrc, proxy and CA settings apply), not the
 * project's Node 22 that `npm test` puts first on PATH. The user's environment otherwise, without
 * any probe setting: the settings come from the file only.
 */
const userEnv = Object.fromEntries(
  Object.entries(process.env).filter(([name]) => !/^(PROBE_|APPLICATIONINSIGHTS_)/.test(name)),
);
const userPath = (process.env.PATH ?? "").split(delimiter).filter((dir) => !dir.endsWith(join("node_modules", ".bin")));
const npmEnv = { ...userEnv, PATH: userPath.join(delimiter) };
/** The installed command on a user's Node 22 (`engines`): the project's Node 22 first on PATH, for the shim's `#!/usr/bin/env node`. */
const baseEnv = {
  ...userEnv,
  PATH: [join(root, "node_modules", ".bin"), join(prefix, "bin"), ...userPath].join(delimiter),
};

let tarballFiles: string[] = [];
let sandbox: Sandbox;

beforeAll(async () => {
  const packed = await run("npm", ["pack", "--json", "--pack-destination", work], {
    cwd: root,
    env: npmEnv,
    maxBuffer: 16 * 1024 * 1024,
  });
  const [info] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf("["))) as {
    filename: string;
    files: { path: string }[];
  }[];
  tarballFiles = info!.files.map((f) => f.path);
  await run(
    "npm",
    ["install", "-g", "--prefix", prefix, "--prefer-offline", "--no-audit", "--no-fund", join(work, info!.filename)],
    { cwd: work, env: npmEnv },
  );
  sandbox = await startSandbox();
}, 300_000);
afterAll(() => sandbox?.close());

describe("the packed, installed apim-smoke", () => {
  it("holds what runs and nothing else: no tests, fixtures, sources or source maps", () => {
    expect(tarballFiles).toContain("dist/src/cli/main.js");
    expect(tarballFiles).toContain("package.json");
    expect(tarballFiles).toContain("schema/run-result.schema.json");
    expect(
      tarballFiles.filter((f) => /^(test|src|bench)\/|^dist\/(test|bench)\/|\.map$|\.ts$|fixtures/.test(f)),
    ).toEqual([]);
  });

  it("is on PATH as apim-smoke, with the package's version", async () => {
    expect(readdirSync(join(prefix, "bin"))).toContain("apim-smoke");
    const { stdout } = await run("apim-smoke", ["--version"], { cwd: work, env: baseEnv });
    expect(stdout.trim()).toMatch(/^apim-smoke \d+\.\d+\.\d+/);
  });

  it("--env-file is Node's: for a file not there yet the installed command exits 9 (README, --help), which --settings-file avoids", async () => {
    const code = await new Promise<number | null>((resolve) =>
      spawn("apim-smoke", ["run", "--env-file", "not-yet.env"], { cwd: work, env: baseEnv, stdio: "ignore" }).on(
        "exit",
        resolve,
      ),
    );
    expect(code).toBe(9);
  });

  it("run --settings-file waits for a file written a moment later, and passes against the sandbox", async () => {
    const { APPLICATIONINSIGHTS_CONNECTION_STRING: _ingestion, ...settings } = sandbox.settings;
    const child = spawn("apim-smoke", ["run", "--settings-file", "later/sandbox.env", "--format", "json"], {
      cwd: work,
      env: baseEnv,
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
    await expect.poll(() => stderr, { timeout: 20_000 }).toContain("waiting for");
    // The folder too appears only now, as `.sandbox/` does once the sandbox listens.
    mkdirSync(join(work, "later"));
    writeFileSync(join(work, "later", "sandbox.env"), envFileText(settings), { mode: 0o600 });
    const code = await exited;
    expect({ code, stderr }).toMatchObject({ code: 0 });
    const doc = JSON.parse(stdout) as { summary: { ok: boolean; total: number }; exitCode: number };
    expect(doc.summary).toMatchObject({ ok: true, total: 12 });
    expect(doc.exitCode).toBe(0);
  }, 90_000);
});
