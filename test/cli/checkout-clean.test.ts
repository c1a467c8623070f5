import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../../", import.meta.url));

/** `git check-ignore` exits 0 for an ignored path, 1 for one git would show as untracked. */
function ignored(path: string): boolean {
  try {
    execFileSync("git", ["check-ignore", "-q", "--no-index", path], { cwd: root, stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

describe("the README's own commands leave the checkout clean", () => {
  it.each([
    "estate.targets.json",
    "probe-results.json",
    "probe-results.xml",
    ".sandbox/sandbox.env",
    "apim-smoke-probe-1.0.0.tgz",
    "local.settings.json",
    ".env",
  ])("%s is ignored by git", (path) => {
    expect(ignored(path)).toBe(true);
  });

  it("sources stay tracked", () => {
    expect(ignored("src/cli/main.ts")).toBe(false);
    expect(ignored("schema/run-result.schema.json")).toBe(false);
  });
});
