import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../../../src/cli/cli.js";
import type { CliIo } from "../../../src/cli/io.js";

// The text output of `policy check` and `coverage`: each finding's line, fitted to the terminal.

const FIXTURES = new URL("../../fixtures/policies", import.meta.url).pathname;
const ESTATE = new URL("../../fixtures/apiops/contoso", import.meta.url).pathname;

async function cli(argv: string[], columns?: number) {
  let stdout = "";
  const io: CliIo = {
    env: {},
    cwd: FIXTURES,
    stdout: { write: (s: string) => (stdout += s), ...(columns ? { columns, isTTY: true } : {}) },
    stderr: { write: () => undefined },
  };
  return { code: await runCli(argv, io), stdout };
}

describe("policy check, text output", () => {
  it("gives each finding's line, as the JSON does", async () => {
    const { stdout } = await cli(["policy", "check", "judged/choose-stray-space.xml"]);
    expect(stdout).toMatch(/^warning invalid-condition {2}choose\/when\/@condition {2}\(line 10\)$/m);
    expect(stdout).toMatch(/^warning invalid-condition {2}choose\/when\/@condition {2}\(line 17\)$/m);
  });

  it("gives the scope, file and line in an effective policy", async () => {
    const { stdout } = await cli([
      "policy",
      "check",
      "--scope",
      `global=${join(FIXTURES, "judged/global-guards.xml")}`,
      "--scope",
      `api=${join(FIXTURES, "judged/api-own-check-without-base.xml")}`,
    ]);
    expect(stdout).toContain(`(api ${join(FIXTURES, "judged/api-own-check-without-base.xml")})`);
    expect(stdout).toMatch(/ip-filter \(global .*global-guards\.xml:9\)/);
  });

  it("says the premise an Entra finding rests on", async () => {
    const { stdout } = await cli(["policy", "check", "judged/aad-token-own-app.xml"]);
    expect(stdout).toMatch(
      /^ {8}premise: validate-azure-ad-token \(Entra ID tokens only\); the audience is an app registration's$/m,
    );
  });

  it("follows the terminal's width, and leaves lines whole without a terminal", async () => {
    const narrow = await cli(["policy", "check", "judged/choose-stray-space.xml"], 60);
    for (const line of narrow.stdout.trimEnd().split("\n")) expect(line.length).toBeLessThanOrEqual(60);
    expect(narrow.stdout).toMatch(/^ {8}\S/m);
    const piped = await cli(["policy", "check", "judged/choose-stray-space.xml"]);
    expect(piped.stdout.split("\n").some((line) => line.length > 120)).toBe(true);
  });
});

describe("coverage, text output", () => {
  it("follows the terminal's width and names where each token check stands (file:line)", async () => {
    const { stdout } = await cli(["coverage", "--apiops", ESTATE], 50);
    for (const line of stdout.trimEnd().split("\n")) expect(line.length).toBeLessThanOrEqual(50);
    expect(stdout.replace(/\n {4}/g, " ")).toContain("global policy.xml:6");
  });
});
