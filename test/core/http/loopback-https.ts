import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer } from "node:https";
import type { AddressInfo } from "node:net";
import { createSandboxCa } from "../../../src/sandbox/tls/ca.js";

export interface LoopbackServer {
  origin: string;
  caPem: string;
  /** Requests seen, with their headers. */
  requests: { method: string; url: string; headers: IncomingMessage["headers"] }[];
  close(): Promise<void>;
}

/** A real HTTPS server on 127.0.0.1 port 0 with a certificate from a throw-away CA. */
export async function startLoopbackHttps(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<LoopbackServer> {
  const ca = await createSandboxCa();
  const { certPem, keyPem } = await ca.issueServerCertificate();
  const requests: LoopbackServer["requests"] = [];
  const server = createServer({ cert: certPem, key: keyPem }, (req, res) => {
    requests.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers });
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `https://127.0.0.1:${port}`,
    caPem: ca.certPem,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Whether the client hung up before the server answered: resolves when the response closes, to
 * true when it closed unfinished (the client aborted the request or dropped its connection), to
 * false when the server's answer was complete. For a handler that never answers, it settles only
 * when the client gives up.
 */
export function closedBeforeAnswer(res: ServerResponse): Promise<boolean> {
  return new Promise((resolve) => res.once("close", () => resolve(!res.writableFinished)));
}
