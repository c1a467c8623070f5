import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer } from "node:https";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { pipeline } from "node:stream/promises";
import { Agent, request, type Dispatcher } from "undici";
import { parsePolicy, type ApimPolicy } from "../../policy/index.js";
import { AccessLimits } from "./access-limits.js";
import { startBackend } from "./backend.js";
import { runInbound } from "./inbound.js";
import { MESSAGES, REQUEST_ID_HEADER, sendApimError } from "./responses.js";
import { findRoute, normaliseApiPath } from "./routing.js";
import { checkSubscription, DEFAULT_KEY_QUERY } from "./subscription.js";
import type { ApiDefinition, ApimGateway, GatewayOptions, GatewayRequestRecord } from "./types.js";

const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "host",
]);

/** The most records kept; a long `watch` run must not grow without bound. */
const MAX_RECORDS = 10_000;

interface PublishedApi {
  definition: ApiDefinition;
  policy: ApimPolicy | undefined;
}

/**
 * The emulated APIM gateway: routing by API suffix, subscription keys, the API's validate-jwt
 * policy (through the shared evaluator in src/policy), then a real forward to the sandbox backend.
 * Every policy is parsed here, before listening, so a bad policy fails start with its PolicyError.
 */
export async function startApimGateway(options: GatewayOptions): Promise<ApimGateway> {
  const now = options.now ?? Date.now;
  const published = publish(options.apis);
  const definitions = published.map((api) => api.definition);
  const policies = new Map(published.map((api) => [api.definition.name, api.policy]));

  const backendTls =
    options.tls.caPem === undefined ? undefined : { certPem: options.tls.certPem, keyPem: options.tls.keyPem };
  const backend = await startBackend(backendTls === undefined ? {} : { tls: backendTls });
  const dispatcher: Dispatcher = new Agent(
    options.tls.caPem === undefined ? {} : { connect: { ca: options.tls.caPem } },
  );
  const records: GatewayRequestRecord[] = [];
  const limits = new AccessLimits(now);
  const sockets = new Set<Duplex>();

  const record = (entry: GatewayRequestRecord) => {
    records.push(entry);
    if (records.length > MAX_RECORDS) records.splice(0, records.length - MAX_RECORDS);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const requestId = randomUUID();
    res.setHeader(REQUEST_ID_HEADER, requestId);
    const host = req.headers.host ?? "127.0.0.1";
    const url = new URL(req.url ?? "/", `https://${host}`);
    const method = req.method ?? "GET";
    const base = { requestId, at: new Date(now()).toISOString(), method, path: url.pathname };
    const headers = headerReader(req);

    const route = findRoute(definitions, url.pathname);
    if (route === undefined) {
      req.resume();
      sendApimError(res, 404, MESSAGES.notFound);
      record({ ...base, status: 404, reason: "ResourceNotFound" });
      return;
    }
    const api = route.api;
    const subscription = checkSubscription(api, headers, url, host);
    if (!subscription.ok) {
      req.resume();
      const message = subscription.reason === "SubscriptionKeyNotFound" ? MESSAGES.missingKey : MESSAGES.invalidKey;
      sendApimError(res, 401, message, { "www-authenticate": subscription.wwwAuthenticate });
      record({ ...base, api: api.name, status: 401, reason: subscription.reason });
      return;
    }
    // Inbound, in document order, one <choose> branch each (inbound.ts): APIM's own semantics.
    const policy = policies.get(api.name);
    const inbound = await runInbound(
      policy?.inbound ?? [],
      { headers, url, method, callerIp: req.socket.remoteAddress ?? "127.0.0.1" },
      { api: api.name, limits, deps: { keys: options.openIdConfig, now } },
    );
    if (!inbound.pass) {
      req.resume();
      if (inbound.message === undefined) {
        res.writeHead(inbound.status, { "content-length": 0 });
        res.end();
      } else sendApimError(res, inbound.status, inbound.message, inbound.headers);
      record({
        ...base,
        api: api.name,
        status: inbound.status,
        reason: inbound.reason,
        ...(inbound.detail ? { detail: inbound.detail } : {}),
      });
      return;
    }

    const target = new URL(`${backend.origin}/${encodeURIComponent(api.name)}${route.rest}`);
    const keyQuery = api.subscriptionKeyQueryParamName ?? DEFAULT_KEY_QUERY;
    for (const [name, value] of url.searchParams) if (name !== keyQuery) target.searchParams.append(name, value);
    const forwardHeaders = forwardedHeaders(req, host);
    let answer: Dispatcher.ResponseData;
    try {
      const hasBody = req.headers["content-length"] !== undefined || req.headers["transfer-encoding"] !== undefined;
      answer = await request(target, {
        dispatcher,
        method,
        headers: forwardHeaders,
        ...(hasBody ? { body: req } : {}),
      });
    } catch {
      req.resume();
      sendApimError(res, 500, MESSAGES.backendFailure);
      record({ ...base, api: api.name, status: 500, reason: "BackendConnectionFailure" });
      return;
    }
    // The backend's answer passes through unchanged (status, headers, body): a backend 5xx stays the
    // backend's, so the probe can tell it from a gateway refusal.
    const responseHeaders: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(answer.headers)) {
      if (value !== undefined && !HOP_BY_HOP.has(name)) responseHeaders[name] = value;
    }
    responseHeaders[REQUEST_ID_HEADER] = requestId;
    res.writeHead(answer.statusCode, responseHeaders);
    record({ ...base, api: api.name, status: answer.statusCode });
    await pipeline(answer.body, res);
  };

  const server = createServer({ cert: options.tls.certPem, key: options.tls.keyPem }, (req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) sendApimError(res, 500, MESSAGES.backendFailure);
      else res.destroy();
    });
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve());
    });
  } catch (error) {
    await backend.close();
    await dispatcher.close();
    throw error;
  }
  const { port } = server.address() as AddressInfo;

  return {
    origin: `https://127.0.0.1:${port}`,
    takeBackendDelays: () => backend.takeDelays(),
    setBackend(behaviour) {
      const { apiName, ...rest } = behaviour;
      if (apiName !== undefined && !policies.has(apiName)) throw new TypeError(`setBackend: no API named "${apiName}"`);
      backend.setBehaviour(apiName, rest);
    },
    requests: () => [...records],
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
      // destroy, not close: close() waits for requests in flight, and a slow backend's take 30 s.
      await dispatcher.destroy();
      await backend.close();
    },
  };
}

/** Validates the API definitions and parses every policy; throws before anything listens. */
function publish(apis: readonly ApiDefinition[]): PublishedApi[] {
  const names = new Set<string>();
  const paths = new Set<string>();
  return apis.map((definition, index) => {
    if (definition.name.trim() === "") throw new TypeError(`apis[${index}].name is empty`);
    if (names.has(definition.name)) throw new TypeError(`apis[${index}].name "${definition.name}" is used twice`);
    names.add(definition.name);
    const path = normaliseApiPath(definition.path);
    if (paths.has(path)) throw new TypeError(`apis[${index}].path "${definition.path}" is used twice`);
    paths.add(path);
    // The gateway enforces exactly what it was given: a named value without a value is refused here.
    const policy =
      definition.policy ??
      (definition.policyXml === undefined
        ? undefined
        : parsePolicy(definition.policyXml, { requireNamedValues: true }));
    return { definition, policy };
  });
}

function headerReader(req: IncomingMessage): { get(name: string): string | null } {
  return {
    get(name) {
      const value = req.headers[name.toLowerCase()];
      if (value === undefined) return null;
      return Array.isArray(value) ? value.join(", ") : value;
    },
  };
}

/**
 * What the backend receives: the caller's headers (Authorization and the subscription key included,
 * as APIM passes them on unless a policy removes them, docs/REFERENCE.md §7) minus hop-by-hop headers, plus
 * X-Forwarded-For/Proto/Host so a backend behind the gateway can rebuild the public URL.
 */
function forwardedHeaders(req: IncomingMessage, host: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || HOP_BY_HOP.has(name)) continue;
    headers[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  const client = req.socket.remoteAddress ?? "127.0.0.1";
  headers["x-forwarded-for"] = headers["x-forwarded-for"] ? `${headers["x-forwarded-for"]}, ${client}` : client;
  headers["x-forwarded-proto"] = "https";
  headers["x-forwarded-host"] = host;
  return headers;
}
