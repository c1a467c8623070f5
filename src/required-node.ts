/**
 * The Node.js this product needs, for the CLI's and the Functions app's own checks. No imports and
 * only syntax every Node.js with ES modules has: it is loaded before anything that may not parse on
 * an older one. Keep in step with package.json `engines` (a test checks).
 */
export const REQUIRED_NODE = "22.19.0";

/** Whether `version` (process.versions.node, e.g. "20.11.1") is older than REQUIRED_NODE. */
export function olderThanRequired(version: string): boolean {
  const have = version.split(".").map((n) => parseInt(n, 10) || 0);
  const need = REQUIRED_NODE.split(".").map((n) => parseInt(n, 10));
  for (let i = 0; i < need.length; i++) {
    if ((have[i] ?? 0) > need[i]!) return false;
    if ((have[i] ?? 0) < need[i]!) return true;
  }
  return false;
}
