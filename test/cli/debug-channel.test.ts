import { execFile } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSandbox, type Sandbox } from "../../src/sandbox/index.js";

// NODE_DEBUG is read once at process start, so the debug channel is tested in a child process
// running the built CLI (`npm test` builds first).
const NODE = resolve("node_modules/.bin/node");
const MAIN = resolve("dist/src/cli/main.js");
const CLI_MODULE = resolve("dist/src/cli/cli.js");
const COMMANDS_MODULE = resolve("dist/src/cli/commands/index.js");
const SECRET_SETTINGS = [
  "PROBE_CLIENT_SECRET",
  "PROBE_UNASSIGNED_CLIENT_SECRET",
  "PROBE_SUBSCRIPTION_KEY",
  "IDENTITY_HEADER",
];
const JWT_LIKE = /eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]+/;

let sandbox: Sandbox;
const cwd = mkdtempSync(join(tmpdir(), "cli-debug-"));

beforeAll(async () => {
  expect(existsSync(MAIN), "build first: npx tsc -p tsconfig.json").toBe(true);
  sandbox = await startSandbox();
});
afterAll(() => sandbox.close());

/** Runs node with `args` (asynchronously: the sandbox answers from this process). */
async function node(
  args: string[],
  env: Record<string, string | undefined>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const base = { PATH: process.env.PATH, HOME: process.env.HOME };
  return new Promise((done) => {
    execFile(
      NODE,
      args,
      { cwd, env: { ...base, ...env }, encoding: "utf8", maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        done({ code: typeof error?.code === "number" ? error.code : error ? 1 : 0, stdout, stderr });
      },
    );
  });
}

function expectNoSecret(text: string): void {
  for (const setting of SECRET_SETTINGS) {
    const value = sandbox.settings[setting];
    expect(value, setting).toBeTruthy();
    expect(text.toLowerCase()).not.toContain(value!.toLowerCase());
  }
  expect(text).not.toMatch(JWT_LIKE);
}

describe("NODE_DEBUG=apim-smoke", () => {
  it("prints the run's steps (run, targets, token acquisition, each probe, delivery), never a secret", async () => {
    const run = await node([MAIN, "run", "--format", "json"], { ...sandbox.settings, NODE_DEBUG: "apim-smoke" });
    expect(run.code).toBe(0);
    const debug = run.stderr.split("\n").filter((l) => /^APIM-SMOKE \d+: /.test(l));
    const steps = debug.map((l) => l.replace(/^APIM-SMOKE \d+: /, "").split(" ")[0]);
    for (const step of ["run", "target", "token", "probe", "delivery"]) expect(steps, step).toContain(step);
    expect(debug.some((l) => l.includes("run start "))).toBe(true);
    expect(debug.some((l) => l.includes("run end "))).toBe(true);
    expect(debug.some((l) => l.includes("token acquired ") && l.includes('"client":"probe"'))).toBe(true);
    const probes = debug.filter((l) => l.includes(": probe "));
    expect(probes.length).toBe((JSON.parse(run.stdout) as { results: unknown[] }).results.length);
    expect(debug.some((l) => l.includes('"probe":"valid"') && l.includes('"outcome":"pass"'))).toBe(true);
    expectNoSecret(run.stderr + run.stdout);
  });

  it("without it, a run prints no debug line", async () => {
    const run = await node([MAIN, "run", "--format", "json", "--probe", "no-token"], sandbox.settings);
    expect(run.code).toBe(0);
    expect(run.stderr).not.toContain("APIM-SMOKE");
  });

  it("prints an unexpected failure's stack, with the secrets its message carried redacted", async () => {
    // A command that fails with a foreign error whose message carries the client secret, a
    // subscription key and a token: the CLI's own line shows only the kind, the debug channel the stack.
    const script = `
      import { runCli } from ${JSON.stringify(CLI_MODULE)};
      import { COMMANDS } from ${JSON.stringify(COMMANDS_MODULE)};
      COMMANDS.boom = { summary: "", usage: "", run: async () => {
        const e = process.env;
        throw new TypeError("cannot read " + e.PROBE_CLIENT_SECRET + " " + e.PROBE_SUBSCRIPTION_KEY.toUpperCase() + " Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl");
      } };
      process.exitCode = await runCli(["boom"], { env: process.env, cwd: process.cwd(), stdout: process.stdout, stderr: process.stderr });
    `;
    const run = await node(["--input-type=module", "-e", script], { ...sandbox.settings, NODE_DEBUG: "apim-smoke" });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("apim-smoke boom: unexpected TypeError\n");
    expect(run.stderr).toMatch(
      /APIM-SMOKE \d+: apim-smoke boom failed: TypeError: cannot read \[redacted\] \[redacted\] Bearer \[redacted\]/,
    );
    expect(run.stderr).toMatch(/\n\s+at /);
    expectNoSecret(run.stderr);
  });
});
