import type { Command } from "../io.js";
import { demoCommand } from "./demo.js";
import { diagnoseCommand } from "./diagnose.js";
import { coverageCommand } from "./coverage.js";
import { policyCommand } from "./policy-check.js";
import { runCommand } from "./run.js";
import { sandboxCommand } from "./sandbox.js";
import { targetsCommand } from "./targets.js";
import { tokenCommand } from "./token.js";
import { watchCommand } from "./watch.js";

/**
 * The command table. A new command is a module in this folder plus one line here.
 */
export const COMMANDS: Record<string, Command> = {
  run: runCommand,
  watch: watchCommand,
  token: tokenCommand,
  demo: demoCommand,
  sandbox: sandboxCommand,
  diagnose: diagnoseCommand,
  policy: policyCommand,
  targets: targetsCommand,
  coverage: coverageCommand,
};
