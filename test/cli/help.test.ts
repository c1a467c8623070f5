import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { runCli } from "../../src/cli/cli.js";
import { COMMANDS } from "../../src/cli/commands/index.js";
import { EXIT_CODES } from "../../src/cli/help.js";
import { CAUSE_CODES } from "../../src/core/diagnosis/index.js";
import type { CliIo } from "../../src/cli/io.js";

const readme = readFileSync(fileURLToPath(new URL("../../README.md", import.meta.url)), "utf8");

async function help(argv: string[]): Promise<string> {
  let stdout = "";
  const io: CliIo = {
    env: {},
    cwd: process.cwd(),
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: () => true },
  };
  expect(await runCli(argv, io)).toBe(0);
  return stdout;
}

describe("--help", () => {
  it.each(Object.keys(COMMANDS))(
    "%s --help describes every option of its synopsis, each with its default",
    async (name) => {
      const text = await help([name, "--help"]);
      const [synopsis = "", ...rest] = text.split("\n");
      const body = rest.join("\n");
      const options = [...new Set(synopsis.match(/--[a-z][a-z-]*/g) ?? [])].filter((o) => o !== "--help");
      expect(options.length).toBeGreaterThan(0);
      for (const option of options) {
        // The option's own entry (at the start of a line), then its default before the next entry.
        const entry = new RegExp(`^  ${option}\\b[^\\n]*\\n(?:[ ]{6,}[^\\n]*\\n)*?[ ]+default: `, "m");
        expect(body, option).toMatch(entry);
      }
    },
  );

  it.each([["--help"], ["run", "--help"], ["policy", "--help"]])("%s lists every exit code", async (...argv) => {
    const text = await help(argv);
    for (const { code } of EXIT_CODES) expect(text).toMatch(new RegExp(`^  ${code}  \\S`, "m"));
  });
});

describe("exit codes in the README", () => {
  it("one table with every code --help lists, and no other", () => {
    const section = readme.slice(readme.indexOf("### Exit codes"));
    const rows = [...section.matchAll(/^\| `(\d+)` \|/gm)].map((m) => Number(m[1]));
    expect(rows).toEqual(EXIT_CODES.map((e) => e.code));
  });
});

describe("cause codes in the README", () => {
  it("the cause code table names every code a result can carry", () => {
    const table = readme.slice(readme.indexOf("| cause codes | from |"), readme.indexOf("Offline tools:"));
    expect(CAUSE_CODES.filter((code) => !table.includes(`\`${code}\``))).toEqual([]);
  });
});
