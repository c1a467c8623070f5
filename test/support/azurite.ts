import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Azurite's well-known development account (documented, not a secret: it opens only the local emulator). */
const DEV_ACCOUNT = "devstoreaccount1";
const DEV_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

export interface Azurite {
  /** `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;...;BlobEndpoint=http://127.0.0.1:PORT/devstoreaccount1;` */
  readonly connectionString: string;
  readonly blobEndpoint: string;
  stop(): Promise<void>;
}

/**
 * Microsoft's Storage emulator (the `azurite` npm package), blob service only, in memory, on
 * 127.0.0.1 with a port the OS assigns (it prints the port it got). Its own telemetry is off.
 * The node that runs it is the one running the tests (the project's Node 22).
 */
export async function startAzurite(): Promise<Azurite> {
  const main = createRequire(import.meta.url).resolve("azurite/dist/src/blob/main.js");
  const cwd = mkdtempSync(join(tmpdir(), "azurite-"));
  const child: ChildProcess = spawn(
    process.execPath,
    [
      main,
      "--blobHost",
      "127.0.0.1",
      "--blobPort",
      "0",
      "--inMemoryPersistence",
      "--disableTelemetry",
      "--skipApiVersionCheck",
      "--loose",
    ],
    { cwd, stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`Azurite did not start within 20 s: ${output.slice(-500)}`)),
      20_000,
    );
    const onData = (chunk: Buffer): void => {
      output += chunk.toString("utf8");
      const match = /listens on http:\/\/127\.0\.0\.1:(\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`Azurite exited with ${code}: ${output.slice(-500)}`));
    });
  });
  const blobEndpoint = `http://127.0.0.1:${port}/${DEV_ACCOUNT}`;
  return {
    blobEndpoint,
    connectionString: `DefaultEndpointsProtocol=http;AccountName=${DEV_ACCOUNT};AccountKey=${DEV_KEY};BlobEndpoint=${blobEndpoint};`,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
        child.kill("SIGTERM");
        await exited;
      }
      rmSync(cwd, { recursive: true, force: true });
    },
  };
}
