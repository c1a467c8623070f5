/**
 * The Node.js the CLI needs, checked before anything else loads. This module and main.ts use only
 * syntax and APIs every Node.js with ES modules has, so an old Node prints one line naming the
 * version to install instead of a SyntaxError or a TypeError stack from a dependency.
 * Keep in step with package.json `engines` (a test checks).
 */
export const REQUIRED_NODE = "22.19.0";

/** Why `version` (process.versions.node, e.g. "20.11.1") cannot run the CLI, or undefined. */
export function nodeVersionProblem(version: string): string | undefined {
  const have = version.split(".").map((n) => parseInt(n, 10) || 0);
  const need = REQUIRED_NODE.split(".").map((n) => parseInt(n, 10));
  for (let i = 0; i < need.length; i++) {
    if ((have[i] ?? 0) > need[i]!) return undefined;
    if ((have[i] ?? 0) < need[i]!) {
      return `apim-smoke needs Node.js ${REQUIRED_NODE} or later; this is Node.js ${version}. Install Node.js 22 (https://nodejs.org), or run ./apim-smoke from a checkout, which brings its own.`;
    }
  }
  return undefined;
}
