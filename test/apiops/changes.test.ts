import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ChangedSinceError, changedApis } from "../../src/apiops/changes.js";
import type { ApiopsFolder } from "../../src/apiops/folder.js";

function repo(): string {
  const dir = mkdtempSync(join(tmpdir(), "changes-"));
  mkdirSync(join(dir, "apis", "orders"), { recursive: true });
  writeFileSync(join(dir, "apis", "orders", "policy.xml"), "<policies />\n");
  const git = (...args: string[]) =>
    execFileSync("git", ["-c", "user.name=probe", "-c", "user.email=probe@example.invalid", ...args], {
      cwd: dir,
      stdio: "ignore",
    });
  git("init", "-q");
  git("add", "-A");
  git("commit", "-q", "-m", "estate");
  writeFileSync(join(dir, "apis", "orders", "policy.xml"), "<policies><inbound /></policies>\n");
  return dir;
}

const folderAt = (root: string) => ({ root, products: [] }) as unknown as ApiopsFolder;

describe("changedApis: the ref is never an option to git", () => {
  it("a ref that starts with '-' is refused, and git writes nothing", () => {
    const dir = repo();
    const target = join(dir, "written-by-git.txt");
    expect(() => changedApis(folderAt(dir), `--output=${target}`)).toThrow(ChangedSinceError);
    expect(() => changedApis(folderAt(dir), `--output=${target}`)).toThrow(/cannot be empty or start with '-'/);
    expect(existsSync(target)).toBe(false);
  });

  it("a real ref still works", () => {
    const dir = repo();
    expect(changedApis(folderAt(dir), "HEAD")).toEqual({ all: false, apis: new Set(["orders"]) });
  });
});
