/**
 * The sandbox in its own process, so that its gateway, token endpoint and TLS work neither steal the
 * measured engine's event loop nor count in its RSS. Started by sandbox-client.ts with the options as
 * JSON in argv[2]; answers commands over IPC.
 */
import { startSandbox } from "../src/sandbox/index.js";
import type { SandboxCommand, SandboxReply, SandboxStartOptions } from "./sandbox-protocol.js";

const options = JSON.parse(process.argv[2] ?? "{}") as SandboxStartOptions;
const sandbox = await startSandbox({
  extraApis: options.extraApis,
  backendLatencyMs: options.backendLatencyMs,
  ...(options.apiops ? { apiops: options.apiops } : {}),
});

const reply = (message: SandboxReply): void => {
  process.send?.(message);
};

process.on("message", (raw) => {
  const command = raw as SandboxCommand;
  switch (command.type) {
    case "set-latency":
      sandbox.gateway.setBackend({ latencyMs: command.latencyMs });
      reply({ id: command.id, type: "ok" });
      return;
    case "token-requests":
      reply({
        id: command.id,
        type: "token-requests",
        requests: sandbox.entra.tokenRequests().map((r) => ({
          ...(r.clientId ? { clientId: r.clientId } : {}),
          ...(r.scope ? { scope: r.scope } : {}),
          ...(r.resource ? { resource: r.resource } : {}),
        })),
      });
      return;
    case "take-backend-delays":
      reply({ id: command.id, type: "backend-delays", delaysMs: sandbox.gateway.takeBackendDelays() });
      return;
    case "close":
      void sandbox.close().then(() => {
        reply({ id: command.id, type: "ok" });
        process.disconnect();
      });
      return;
  }
});

// The bench went away (crash, Ctrl-C): do not outlive it with servers still listening.
process.once("disconnect", () => {
  void sandbox.close().finally(() => process.exit(0));
});

reply({ type: "ready", settings: { ...sandbox.settings }, apiUrls: [...sandbox.apiUrls], caFile: sandbox.caFile });
