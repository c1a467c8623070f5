import { fork, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

/** Path of a compiled bench module next to this one (dist/bench/<name>.js). */
export function benchScript(name: string): string {
  return fileURLToPath(new URL(`./${name}.js`, import.meta.url));
}

export interface ChildRun<R> {
  result: R;
  /** From spawn to exit, ms: includes Node's start-up and the child's imports. */
  processWallMs: number;
}

/**
 * Runs one bench child to completion: forks `script` with an IPC channel, sends it `job`, and
 * resolves with the first message it sends back. The child runs in a fresh Node process, so its
 * RSS and imports are its own. stdout/stderr are discarded unless `inheritOutput`, because some
 * libraries warn on import (e.g. @azure/functions outside the host) and the bench prints figures only.
 */
export function runChild<J, R>(
  script: string,
  job: J,
  options: { env?: NodeJS.ProcessEnv; inheritOutput?: boolean } = {},
): Promise<ChildRun<R>> {
  const started = performance.now();
  const child = fork(script, [], {
    env: options.env ?? process.env,
    // A fresh Node, not one carrying the bench's own flags (--inspect, --input-type, ...).
    execArgv: [],
    stdio: options.inheritOutput ? ["ignore", "inherit", "inherit", "ipc"] : ["ignore", "ignore", "pipe", "ipc"],
    serialization: "advanced",
  });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString("utf8")).slice(-2000);
  });
  return new Promise((resolve, reject) => {
    let result: { value: R } | undefined;
    child.once("message", (message) => {
      result = { value: message as R };
    });
    child.once("error", reject);
    child.once("exit", (code) => {
      const processWallMs = performance.now() - started;
      if (result) resolve({ result: result.value, processWallMs });
      else reject(new Error(`bench child ${script} exited with ${code} without a result; stderr tail:\n${stderr}`));
    });
    child.send(job as Parameters<ChildProcess["send"]>[0]);
  });
}

/** Child side: waits for the job, runs it, sends the result and lets the process exit. */
export function serveOneJob<J, R>(work: (job: J) => Promise<R>): void {
  process.once("message", (job) => {
    work(job as J).then(
      (result) => process.send?.(result, () => process.disconnect()),
      (error: unknown) => {
        process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
        process.exit(1);
      },
    );
  });
}
