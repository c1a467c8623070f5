import { fork } from "node:child_process";
import { benchScript } from "./child.js";
import type { SandboxCommand, SandboxReply, SandboxStartOptions, SeenTokenRequest } from "./sandbox-protocol.js";

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

export interface SandboxProcess {
  /** PROBE_* settings pointing at the sandbox (they hold its generated secrets: never print them). */
  readonly settings: Readonly<Record<string, string>>;
  readonly apiUrls: readonly string[];
  readonly caFile: string;
  setLatency(latencyMs: number): Promise<void>;
  tokenRequests(): Promise<SeenTokenRequest[]>;
  /** The backend's delays as actually waited since the last call (ms): the latency really injected. */
  takeBackendDelays(): Promise<number[]>;
  close(): Promise<void>;
}

/** Starts the sandbox in a child process (sandbox-child.ts) and returns a handle to drive it. */
export async function startSandboxProcess(options: SandboxStartOptions): Promise<SandboxProcess> {
  const child = fork(benchScript("sandbox-child"), [JSON.stringify(options)], {
    stdio: ["ignore", "ignore", "inherit", "ipc"],
    execArgv: [],
  });
  const pending = new Map<number, (reply: SandboxReply) => void>();
  let nextId = 1;

  const ready = await new Promise<Extract<SandboxReply, { type: "ready" }>>((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`sandbox process exited with ${code} before it was ready`)));
    child.on("message", (raw) => {
      const reply = raw as SandboxReply;
      if (reply.type === "ready") resolve(reply);
      else if ("id" in reply) pending.get(reply.id)?.(reply);
    });
  });

  const ask = (command: DistributiveOmit<SandboxCommand, "id">): Promise<SandboxReply> => {
    const id = nextId++;
    return new Promise((resolve) => {
      pending.set(id, (reply) => {
        pending.delete(id);
        resolve(reply);
      });
      child.send({ ...command, id });
    });
  };

  return {
    settings: ready.settings,
    apiUrls: ready.apiUrls,
    caFile: ready.caFile,
    async setLatency(latencyMs) {
      await ask({ type: "set-latency", latencyMs });
    },
    async tokenRequests() {
      const reply = await ask({ type: "token-requests" });
      if (reply.type !== "token-requests") throw new Error("sandbox did not answer token-requests");
      return reply.requests;
    },
    async takeBackendDelays() {
      const reply = await ask({ type: "take-backend-delays" });
      if (reply.type !== "backend-delays") throw new Error("sandbox did not answer take-backend-delays");
      return reply.delaysMs;
    },
    async close() {
      const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      await ask({ type: "close" });
      await exited;
    },
  };
}
