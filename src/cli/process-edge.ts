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
// Every command has finished its work and closed what it opened when runCli returns; a stray
// keep-alive socket or SDK timer must not keep the process alive after that.
process.exitCode = code;
setImmediate(() => process.exit(code));
