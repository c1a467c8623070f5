import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer } from "node:https";
import type { AddressInfo } from "node:net";
import type { EmulatorContext, TokenEndpointOutage, TokenRequestRecord } from "./context.js";
import { v1Metadata, v2Metadata } from "./discovery.js";
import { refuse, sendRefusal } from "./errors.js";
import { sendJson } from "./http.js";
import { v2Issuer } from "./issuers.js";
import { handleGraphApplicationRequest, isGraphApplicationPath } from "./graph.js";
import { handleManagedIdentityRequest, MANAGED_IDENTITY_PATH } from "./managed-identity.js";
import { parseTenantModel, sameId, type TenantModel, type TenantModelInput } from "./model.js";
import { SigningKeyRing } from "./signing-keys.js";
import { handleTokenRequest, tenantNotFound } from "./token-endpoint.js";

export type { TokenRequestRecord } from "./context.js";

export interface EntraEmulatorOptions {
  /** Validated again here; a bad model throws `TenantModelError`. */
  model: TenantModel | TenantModelInput;
  tls: { certPem: string; keyPem: string };
  /** exp - iat of issued tokens. Default 3900 s, as in Microsoft's samples (docs/REFERENCE.md §1). */
  tokenLifetimeSeconds?: number;
  /**
   * Every this many ms (on `now`'s clock, counted from start) the tenant publishes its next signing
   * key (SigningKeyRing.publishNext): the signing-key-rollover scenario.
   */
  signingKeyRolloverEveryMs?: number;
  /** Clock in ms; drives iat/nbf/exp, secret expiry and assertion checks. */
  now?: () => number;
}

export interface EntraEmulator {
  /** `https://127.0.0.1:PORT`; an MSAL authority is `${origin}/${tenantId}`. */
  readonly origin: string;
  /** For IDENTITY_ENDPOINT (App Service managed-identity protocol). */
  readonly identityEndpoint: string;
  /** For IDENTITY_HEADER. */
  readonly identityHeader: string;
  /** Token requests so far (v1, v2, managed identity; the newest 5000), oldest first. Never secrets or tokens. */
  tokenRequests(): readonly TokenRequestRecord[];
  /** The next `count` requests to the v1/v2 token endpoints get 429, plain text, `Retry-After`. */
  throttleNext(count: number, retryAfterSeconds?: number): void;
  /** The next `count` requests to the v1/v2 token endpoints fail the given way (an HTML 5xx, or no answer). */
  failNext(count: number, outage: TokenEndpointOutage): void;
  /** Retires the oldest signing key (the one tokens were signed with) and publishes a new one. */
  rotateSigningKeys(): void;
  /** Replaces the tenant model (validated; throws `TenantModelError`). */
  setModel(model: TenantModel | TenantModelInput): void;
  /** The tenant model in force (a copy: change it and pass it to setModel, as an admin edits a registration). */
  model(): TenantModel;
  close(): Promise<void>;
}

const DEFAULT_LIFETIME_SECONDS = 3900;
const DEFAULT_RETRY_AFTER_SECONDS = 60;
/** `watch` runs the sandbox for hours: keep the newest records only. */
const MAX_RECORDS = 5000;
/** Tenant segments Entra serves tenant-independent discovery documents and keys for. */
const MULTI_TENANT = new Set(["common", "organizations"]);

export async function startEntraEmulator(options: EntraEmulatorOptions): Promise<EntraEmulator> {
  let model = parseTenantModel(options.model);
  const lifetimeSeconds = options.tokenLifetimeSeconds ?? DEFAULT_LIFETIME_SECONDS;
  if (!Number.isInteger(lifetimeSeconds) || lifetimeSeconds < 1) {
    throw new TypeError("startEntraEmulator: tokenLifetimeSeconds must be a positive integer");
  }
  const now = options.now ?? Date.now;
  const keys = await SigningKeyRing.create();
  const records: TokenRequestRecord[] = [];
  const throttles: number[] = [];
  const outages: TokenEndpointOutage[] = [];
  const identityHeader = randomBytes(24).toString("hex");

  const server = createServer({ cert: options.tls.certPem, key: options.tls.keyPem });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;

  // Rollovers due by the emulator's clock, published when the keys are next asked for (so a test's clock decides, not a timer).
  const startedAt = now();
  let rolledOver = 0;
  const rollOverDueKeys = (): void => {
    const every = options.signingKeyRolloverEveryMs;
    if (every === undefined || every <= 0) return;
    for (const due = Math.floor((now() - startedAt) / every); rolledOver < due; rolledOver++) keys.publishNext();
  };

  const ctx: EmulatorContext = {
    origin,
    identityHeader,
    lifetimeSeconds,
    keys,
    rollOverDueKeys,
    model: () => model,
    now,
    record: (r) => {
      if (records.push(r) > MAX_RECORDS) records.shift();
    },
    takeThrottle: () => throttles.shift(),
    takeOutage: () => outages.shift(),
  };

  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    route(req, res, ctx).catch(() => {
      // Nothing about the request is logged (it may carry a secret); the client sees a bare 500.
      if (!res.headersSent)
        sendJson(res, 500, { error: "server_error", error_description: "Sandbox Entra emulator failure." });
      else res.destroy();
    });
  });

  return {
    origin,
    identityEndpoint: `${origin}${MANAGED_IDENTITY_PATH}`,
    identityHeader,
    tokenRequests: () => [...records],
    throttleNext(count, retryAfterSeconds = DEFAULT_RETRY_AFTER_SECONDS) {
      for (let i = 0; i < count; i++) throttles.push(retryAfterSeconds);
    },
    failNext(count, outage) {
      for (let i = 0; i < count; i++) outages.push(outage);
    },
    rotateSigningKeys: () => keys.rotate(),
    setModel(next) {
      model = parseTenantModel(next);
    },
    model: () => structuredClone(model),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

async function route(req: IncomingMessage, res: ServerResponse, ctx: EmulatorContext): Promise<void> {
  const url = new URL(req.url ?? "/", ctx.origin);
  const method = req.method ?? "GET";
  if (url.pathname === MANAGED_IDENTITY_PATH) {
    if (method !== "GET") return methodNotAllowed(req, res, "GET");
    return handleManagedIdentityRequest(url, req, res, ctx);
  }

  if (isGraphApplicationPath(url.pathname)) {
    req.resume();
    if (method !== "GET") return methodNotAllowed(req, res, "GET");
    return handleGraphApplicationRequest(url, req, res, ctx);
  }

  const [, tenant = "", ...rest] = url.pathname.split("/");
  const tail = rest.join("/");
  const tokenVersion = tail === "oauth2/v2.0/token" ? "v2" : tail === "oauth2/token" ? "v1" : undefined;
  if (tokenVersion !== undefined) {
    if (method !== "POST") return methodNotAllowed(req, res, "POST");
    return handleTokenRequest(tokenVersion, tenant, req, res, ctx);
  }

  req.resume();
  if (method !== "GET") return methodNotAllowed(req, res, "GET");
  const tenantId = ctx.model().tenantId;
  const known = sameId(tenant, tenantId);
  // `/common/...` documents carry the `{tenantid}` placeholder, as Entra's do.
  const tenantInDocs = known ? tenantId : "{tenantid}";
  const discoveryPaths: Record<string, () => Promise<unknown>> = {
    ".well-known/openid-configuration": () => Promise.resolve(v1Metadata(ctx.origin, tenantInDocs, ctx.model().cloud)),
    "v2.0/.well-known/openid-configuration": () =>
      Promise.resolve(v2Metadata(ctx.origin, tenantInDocs, ctx.model().cloud)),
    "discovery/keys": () => {
      ctx.rollOverDueKeys();
      return ctx.keys.jwks();
    },
    "discovery/v2.0/keys": () => {
      ctx.rollOverDueKeys();
      return ctx.keys.jwks(v2Issuer(tenantInDocs, ctx.model().cloud));
    },
  };
  const document = discoveryPaths[tail];
  if (document === undefined) {
    sendJson(res, 404, { error: "not_found", error_description: `No such endpoint: ${url.pathname}` });
    return;
  }
  if (!known && !MULTI_TENANT.has(tenant.toLowerCase())) {
    sendRefusal(res, refuse(90002, tenantNotFound(tenant)), { now: ctx.now() });
    return;
  }
  sendJson(res, 200, await document(), { "cache-control": "max-age=86400, private" });
}

function methodNotAllowed(req: IncomingMessage, res: ServerResponse, allow: string): void {
  req.resume();
  sendJson(res, 405, { error: "invalid_request", error_description: `Use ${allow}.` }, { allow });
}
