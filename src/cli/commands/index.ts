import type { Command } from "../io.js";
import { demoCommand } from "./demo.js";
import { runCommand } from "./run.js";
import { sandboxCommand } from "./sandbox.js";
import { tokenCommand } from "./token.js";
import { watchCommand } from "./watch.js";

/**
 * The command table. A new command is a module in this folder plus one line here
 * (e.g. `demo: demoCommand,` and `sandbox: sandboxCommand,`).
 */
export const COMMANDS: Record<string, Command> = {
  run: runCommand,
  watch: watchCommand,
  token: tokenCommand,
  demo: demoCommand,
  sandbox: sandboxCommand,
};
