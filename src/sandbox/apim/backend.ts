import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import type { BackendBehaviour, BodyFault } from "./types.js";

export interface BackendOptions {
  /** Serve HTTPS with this certificate; absent: plain HTTP (loopback only). */
  tls?: { certPem: string; keyPem: string };
}

/** A behaviour of one API's backend (or the default's): the API is `setBehaviour`'s own argument. */
type Behaviour = Omit<BackendBehaviour, "apiName">;

export interface SandboxBackend {
  /** `https://127.0.0.1:<port>` (or http). Each API is served under `/<encoded api name>`. */
  origin: string;
  /** Sets the behaviour of one API's backend, or (apiName absent) the default for all others. */
  setBehaviour(apiName: string | undefined, behaviour: Behaviour): void;
  /** The programmed delays as actually waited (ms, newest 10000), and forgets them: what "latency L" really was. */
  takeDelays(): number[];
  close(): Promise<void>;
}

/** What the backend echoes for a 200: enough for a test to see what the gateway forwarded. */
export interface BackendEcho {
  api: string;
  method: string;
  /** The path after the API suffix, as the gateway forwarded it. */
  path: string;
  /** The query string as forwarded (`?a=1`), or "". */
  query: string;
  forwarded: { for?: string; proto?: string; host?: string };
  /** The Authorization header's scheme, if one was forwarded; never the credential. */
  authorizationScheme?: string;
  /** Whether a subscription key header reached the backend (APIM strips it). */
  subscriptionKeyForwarded: boolean;
}

/**
 * The sandbox's API implementation behind the gateway. It answers 200 with an echo, or the
 * programmed status after the programmed latency, so a probe can tell backend errors (passed
 * through unchanged) from the gateway's own refusals.
 */
export async function startBackend(options: BackendOptions = {}): Promise<SandboxBackend> {
  const behaviours = new Map<string | undefined, Behaviour>();
  const delays: number[] = [];
  const sockets = new Set<Duplex>();
  // Aborts programmed delays on close, so a slow backend's timers never outlive the sandbox.
  const closing = new AbortController();

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? "/", "http://backend");
    const [, encodedApi = "", ...rest] = url.pathname.split("/");
    const api = decodeURIComponent(encodedApi);
    const key = behaviours.has(api) ? api : undefined;
    const behaviour = behaviours.get(key) ?? {};
    if (behaviour.times !== undefined) {
      if (behaviour.times <= 1) behaviours.delete(key);
      else behaviours.set(key, { ...behaviour, times: behaviour.times - 1 });
    }
    if (behaviour.unreachable === true) {
      req.socket.destroy();
      return;
    }
    req.resume();
    if (behaviour.latencyMs !== undefined && behaviour.latencyMs > 0) {
      // Timers overshoot on a busy loop: the wait as it really was, for whoever measures latency.
      const started = performance.now();
      await sleep(behaviour.latencyMs, undefined, { signal: closing.signal });
      delays.push(performance.now() - started);
      if (delays.length > 10_000) delays.shift();
    }
    if (behaviour.status !== undefined && behaviour.status !== 200) {
      // An RFC 9457 problem document, as ASP.NET Core and most web frameworks answer: deliberately
      // not APIM's `{statusCode, message}` shape, so a probe can tell the backend's errors from the gateway's.
      sendJson(
        res,
        behaviour.status,
        {
          type: "about:blank",
          title: "Backend error",
          status: behaviour.status,
          detail: `backend programmed to answer ${behaviour.status}`,
        },
        "application/problem+json",
      );
      return;
    }
    const authorization = header(req, "authorization");
    const echo: BackendEcho = {
      api,
      method: req.method ?? "GET",
      path: rest.length === 0 ? "" : `/${rest.join("/")}`,
      query: url.search,
      forwarded: dropUndefined({
        for: header(req, "x-forwarded-for"),
        proto: header(req, "x-forwarded-proto"),
        host: header(req, "x-forwarded-host"),
      }),
      subscriptionKeyForwarded: header(req, "ocp-apim-subscription-key") !== undefined,
    };
    const scheme = authorization?.split(/\s+/)[0];
    if (authorization !== undefined && scheme !== undefined && authorization.includes(" "))
      echo.authorizationScheme = scheme;
    const body = behaviour.paddingBytes ? { ...echo, padding: "x".repeat(behaviour.paddingBytes) } : echo;
    if (behaviour.bodyFault) sendFaultyBody(res, behaviour.bodyFault, JSON.stringify(body), closing.signal);
    else sendJson(res, 200, body);
  };

  const listener = (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch(() => {
      if (!res.headersSent)
        sendJson(res, 500, { type: "about:blank", title: "Backend failure", status: 500 }, "application/problem+json");
      else res.destroy();
    });
  };
  const server: Server = options.tls
    ? createHttpsServer({ cert: options.tls.certPem, key: options.tls.keyPem }, listener)
    : createHttpServer(listener);
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    origin: `${options.tls ? "https" : "http"}://127.0.0.1:${port}`,
    setBehaviour(apiName, behaviour) {
      behaviours.set(apiName, { ...behaviour });
    },
    takeDelays: () => delays.splice(0),
    async close() {
      closing.abort();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(", ") : value;
}

function dropUndefined<T extends Record<string, string | undefined>>(value: T): Partial<Record<keyof T, string>> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<
    Record<keyof T, string>
  >;
}

function sendJson(res: ServerResponse, status: number, body: unknown, contentType = "application/json"): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": `${contentType}; charset=utf-8`, "content-length": Buffer.byteLength(text) });
  res.end(text);
}

/** The pace of a trickling body: a byte now and then, never enough to finish within a probe's timeout. */
const TRICKLE_EVERY_MS = 500;

/**
 * A 200 that announces the whole body and then misbehaves: `trickle` sends one byte per
 * TRICKLE_EVERY_MS, `hang` sends the first bytes and nothing more, `reset` cuts the connection.
 */
function sendFaultyBody(res: ServerResponse, fault: BodyFault, text: string, closing: AbortSignal): void {
  res.writeHead(200, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(text) });
  res.write(text.slice(0, 1));
  if (fault === "reset") {
    setTimeout(() => res.destroy(), 20);
    return;
  }
  if (fault === "hang") return;
  let sent = 1;
  const timer = setInterval(() => {
    if (closing.aborted || res.destroyed) clearInterval(timer);
    else if (sent < text.length) res.write(text.slice(sent, ++sent));
    else {
      clearInterval(timer);
      res.end();
    }
  }, TRICKLE_EVERY_MS);
  res.on("close", () => clearInterval(timer));
}
