import { olderThanRequired, REQUIRED_NODE } from "../required-node.js";

/**
 * The Node.js the CLI needs, checked before anything else loads. This module and main.ts use only
 * syntax and APIs every Node.js with ES modules has, so an old Node prints one line naming the
 * version to install instead of a SyntaxError or a TypeError stack from a dependency.
 */
export { REQUIRED_NODE };

/** Why `version` (process.versions.node, e.g. "20.11.1") cannot run the CLI, or undefined. */
export function nodeVersionProblem(version: string): string | undefined {
  if (!olderThanRequired(version)) return undefined;
  return `apim-smoke needs Node.js ${REQUIRED_NODE} or later; this is Node.js ${version}. Install Node.js 22 (https://nodejs.org), or run ./apim-smoke from a checkout, which brings its own.`;
}
