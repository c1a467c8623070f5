#!/usr/bin/env node
import { runCli } from "./cli.js";

// The process edge: real environment, streams and signals. Everything below takes them as CliIo.
const stop = new AbortController();
process.once("SIGINT", () => stop.abort());
process.once("SIGTERM", () => stop.abort());

const code = await runCli(process.argv.slice(2), {
  env: process.env,
  cwd: process.cwd(),
  stdout: process.stdout,
  stderr: process.stderr,
  signal: stop.signal,
});
process.exitCode = code;
// Open keep-alive sockets or timers must not hold a finished one-shot command.
if (process.argv[2] !== "watch" || stop.signal.aborted) setImmediate(() => process.exit(code));
