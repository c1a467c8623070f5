import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../../src/cli/cli.js";
import type { CliIo } from "../../src/cli/io.js";

/**
 * Whatever a person types where a value belongs may be a pasted secret: no error, usage text or
 * output repeats it. Every option of every command gets a canary, in the forms people
 * paste: an Entra secret, a subscription key, a token, and a plain word that looks like none.
 */
const CANARIES = [
  "Xy7Q~canaryClientSecretValue0123456789abc",
  "0123456789abcdef0123456789abcdef",
  "eyJhbGciOiJSUzI1NiJ9.eyJjYW5hcnkiOiJ0b2tlbiJ9.c2lnbmF0dXJlLWNhbmFyeQ",
  "canaryplainword",
];

const OPTIONS: Record<string, string[]> = {
  run: ["--target", "--probe", "--format", "--junit", "--env-file", "--settings-file"],
  watch: ["--schedule", "--target", "--probe", "--format", "--junit", "--env-file", "--settings-file"],
  token: ["--scope", "--env-file", "--settings-file"],
  demo: ["--scenario", "--cloud", "--policy", "--format"],
  sandbox: ["--scenario", "--cloud", "--policy", "--token-lifetime"],
  diagnose: ["--token-file", "--policy", "--env-file", "--settings-file", "--format"],
  "policy check": ["--token-version", "--tenant-id", "--api-client-id", "--app-id-uri", "--format"],
};

/** Settings that would let a run start: the canary must be refused by the option itself, or ignored. */
const ENV = {
  PROBE_TENANT_ID: "7d3c2f4e-1a6b-4c59-9e2d-5b8f0a1c3e47",
  PROBE_CLIENT_ID: "c2a8e5f1-7b39-4d06-8e4a-1f5c9b3d7a62",
};

/**
 * Options that take a file path: a path is named in errors ("cannot write reports/x.xml" is what a
 * user needs), so the plain word may appear there; a secret-shaped value never does.
 */
const PATH_OPTIONS = new Set(["--junit", "--env-file", "--settings-file", "--policy", "--token-file"]);

const cases = Object.entries(OPTIONS).flatMap(([command, options]) =>
  options.flatMap((option) =>
    CANARIES.filter((canary) => !PATH_OPTIONS.has(option) || canary !== "canaryplainword").map((canary) => ({
      command,
      option,
      canary,
    })),
  ),
);

describe("no CLI argument is ever echoed", () => {
  it.each(cases)("$command $option <canary $canary>", async ({ command, option, canary }) => {
    const dir = mkdtempSync(join(tmpdir(), "canary-"));
    let printed = "";
    const stop = new AbortController();
    stop.abort(); // long-running commands (watch, sandbox) return at once
    const io: CliIo = {
      env: ENV,
      cwd: dir,
      stdout: { write: (s: string) => (printed += s) },
      stderr: { write: (s: string) => (printed += s) },
      signal: stop.signal,
    };
    const argv = [...command.split(" "), ...(command === "policy check" ? ["policy.xml"] : []), option, canary];
    await runCli(argv, io);
    expect(printed).not.toContain(canary);
    expect(printed).not.toContain(canary.slice(0, 12));
  });

  it.each(CANARIES)("a canary as the command or a stray argument: %s", async (canary) => {
    for (const argv of [[canary], ["run", canary], ["diagnose", canary]]) {
      let printed = "";
      const io: CliIo = {
        env: ENV,
        cwd: tmpdir(),
        stdout: { write: (s: string) => (printed += s) },
        stderr: { write: (s: string) => (printed += s) },
      };
      expect(await runCli(argv, io)).toBe(2);
      expect(printed).not.toContain(canary.slice(0, 12));
    }
  });
});
