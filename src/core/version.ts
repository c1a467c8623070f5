import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The version in the project's package.json. Looked up by walking up from this module, since it
 * runs from `src/core/` under the tests, from `dist/src/core/` when built, and from the installed package.
 */
export function productVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { name?: unknown; version?: unknown };
      if (pkg.name === "apim-smoke-probe" && typeof pkg.version === "string") return pkg.version;
    } catch {
      // not here: one folder up
    }
    dir = dirname(dir);
  }
  return "unknown";
}
