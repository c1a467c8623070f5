#!/usr/bin/env node
import { nodeVersionProblem } from "./node-version.js";

// The CLI's entry: the Node.js version first, then the real process edge, loaded only when it can run.
const problem = nodeVersionProblem(process.versions.node);
if (problem) {
  process.stderr.write(`${problem}\n`);
  process.exitCode = 2;
} else {
  await import("./process-edge.js");
}
