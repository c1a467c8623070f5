import { execFileSync, spawn } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSandbox, type Sandbox } from "../../src/sandbox/index.js";

/**
 * Every shell block in README.md, typed as written, in a copy of the checkout as a newcomer would
 * have it (no node_modules, no dist): the set-up block runs its own `npm ci`, then the others run
 * in that copy. Each block carries a `<!-- readme-test: ... -->` line saying what it must do:
 *   fresh-clone          runs first, in the bare copy
 *   env=sandbox          the settings come from the environment (a sandbox's), as a pipeline's variables would
 *   expect-exit=N        its exit code
 *   expect-output="..."  text its output must contain
 *   expect-file=PATH     a file it must leave behind
 *   skip: REASON         a block this machine cannot run, and why
 * A block without such a line fails the test, so a new README example cannot go untested.
 */
interface Block {
  line: number;
  script: string;
  skip?: string;
  freshClone: boolean;
  sandboxEnv: boolean;
  expectExit: number;
  expectOutput: string[];
  expectFiles: string[];
}

const README = readFileSync("README.md", "utf8");

function readmeBlocks(): Block[] {
  const blocks: Block[] = [];
  const lines = README.split("\n");
  lines.forEach((line, i) => {
    if (line.trim() !== "```sh") return;
    const end = lines.findIndex((l, j) => j > i && l.trim() === "```");
    const script = lines.slice(i + 1, end).join("\n");
    const annotation = /^<!-- readme-test: (.*) -->$/.exec(lines[i - 1]?.trim() ?? "")?.[1];
    if (annotation === undefined)
      throw new Error(`README.md line ${i + 1}: a sh block without a <!-- readme-test: ... --> line`);
    const skip = /^skip: (.+)$/.exec(annotation)?.[1];
    blocks.push({
      line: i + 1,
      script,
      ...(skip ? { skip } : {}),
      freshClone: /\bfresh-clone\b/.test(annotation),
      sandboxEnv: /\benv=sandbox\b/.test(annotation),
      expectExit: Number(/expect-exit=(\d+)/.exec(annotation)?.[1] ?? 0),
      expectOutput: [...annotation.matchAll(/expect-output="([^"]*)"/g)].map((m) => m[1]!),
      expectFiles: [...annotation.matchAll(/expect-file=(\S+)/g)].map((m) => m[1]!),
    });
  });
  return blocks;
}

/** The checkout as `git clone` would give it (tracked and new files, nothing ignored). */
function freshCopy(): string {
  const root = mkdtempSync(join(tmpdir(), "readme-clone-"));
  const files = execFileSync("git", ["ls-files", "-co", "--exclude-standard", "-z"], { encoding: "utf8" })
    .split("\0")
    .filter(Boolean);
  for (const file of files) {
    if (!existsSync(file)) continue; // deleted in the work tree, not yet committed
    mkdirSync(dirname(join(root, file)), { recursive: true });
    cpSync(file, join(root, file));
  }
  return root;
}

/** Settings a run reads, left out of the inherited environment so the block sees only its own. */
const OWNED = /^(PROBE_|APPLICATIONINSIGHTS_|IDENTITY_)/;

function runBlock(
  script: string,
  cwd: string,
  extraEnv: Record<string, string>,
  timeoutMs: number,
): Promise<{ code: number | null; output: string }> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env))
    if (v !== undefined && !OWNED.test(k) && !k.startsWith("npm_") && k !== "NODE_OPTIONS") env[k] = v;
  // Without the test runner's PATH entries for the project's node_modules: a newcomer's shell has none.
  env.PATH = (process.env.PATH ?? "")
    .split(":")
    .filter((p) => !p.includes("node_modules"))
    .join(":");
  Object.assign(env, extraEnv);
  return new Promise((resolvePromise) => {
    // Its own process group, so a block's background job (`sandbox ... &`) is stopped with it.
    const child = spawn("bash", ["-c", script], { cwd, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => killGroup(child.pid), timeoutMs);
    let exitCode: number | null = null;
    // When the script's shell exits, its background jobs are stopped too; their end closes the pipes.
    child.on("exit", (code) => {
      exitCode = code;
      clearTimeout(timer);
      killGroup(child.pid);
    });
    child.on("close", () => resolvePromise({ code: exitCode, output }));
  });
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, "SIGTERM");
  } catch {
    // already gone
  }
}

const blocks = readmeBlocks();
let clone: string;
let sandbox: Sandbox;

beforeAll(async () => {
  clone = freshCopy();
  sandbox = await startSandbox();
});
afterAll(async () => {
  await sandbox.close();
  rmSync(clone, { recursive: true, force: true });
});

describe("README.md's commands, typed as written on a fresh clone", () => {
  it("every sh block says what it must do", () => {
    expect(blocks.length).toBeGreaterThanOrEqual(5);
    expect(blocks.filter((b) => b.freshClone)).toHaveLength(1);
  });

  // The set-up block first: the others need what its `npm ci` installed.
  const ordered = [...blocks.filter((b) => b.freshClone), ...blocks.filter((b) => !b.freshClone)];
  for (const block of ordered) {
    const title = `line ${block.line}: ${block.script.split("\n").join(" ; ")}`;
    if (block.skip) {
      it.skip(`${title} (${block.skip})`, () => undefined);
      continue;
    }
    it(title, { timeout: block.freshClone ? 600_000 : 180_000 }, async () => {
      const env = block.sandboxEnv ? { ...sandbox.settings } : {};
      const { code, output } = await runBlock(block.script, clone, env, block.freshClone ? 590_000 : 170_000);
      expect({ code, tail: output.slice(-3000) }).toMatchObject({ code: block.expectExit });
      for (const text of block.expectOutput) expect(output).toContain(text);
      for (const file of block.expectFiles) expect(existsSync(resolve(clone, file)), file).toBe(true);
      // Whatever a README command prints, no secret of the sandbox it talked to is in it.
      for (const secret of [sandbox.settings.PROBE_CLIENT_SECRET!, sandbox.settings.PROBE_SUBSCRIPTION_KEY!])
        expect(output).not.toContain(secret);
    });
  }
});
