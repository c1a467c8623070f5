import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { assignedRoles, audienceFor, findResource, signAccessToken } from "./access-token.js";
import { authenticateClient, type ClientCredentials } from "./client-auth.js";
import type { EmulatorContext, TokenRequestRecord } from "./context.js";
import { AADSTS, isRefusal, refuse, sendRefusal, type Refusal } from "./errors.js";
import { BodyTooLargeError, NO_STORE, readBody, sendJson, sendText } from "./http.js";
import { sameId } from "./model.js";

export type TokenEndpointVersion = "v1" | "v2";

const DEFAULT_SUFFIX = "/.default";

/**
 * `POST /{tenant}/oauth2/token` (v1, `resource=`) and `POST /{tenant}/oauth2/v2.0/token` (v2,
 * `scope={resource}/.default`), grant client_credentials only (docs/REFERENCE.md §1).
 *
 * Order of checks (Entra's own order is not documented; this one never reveals whether a resource
 * exists to an unauthenticated caller): throttling, tenant, grant type and required parameters, scope
 * syntax, client lookup, client authentication, resource lookup, role assignment.
 */
export async function handleTokenRequest(
  version: TokenEndpointVersion,
  tenant: string,
  req: IncomingMessage,
  res: ServerResponse,
  ctx: EmulatorContext,
): Promise<void> {
  const nowMs = ctx.now();
  const record: TokenRequestRecord = {
    at: new Date(nowMs).toISOString(),
    endpoint: version,
    tenant,
    status: 0,
    outcome: "refused",
  };
  const correlationId = headerValue(req, "client-request-id");
  const refuseWith = (refusal: Refusal): void => {
    const { error, status } = AADSTS[refusal.aadsts];
    ctx.record({ ...record, status, aadsts: refusal.aadsts, error });
    sendRefusal(res, refusal, { now: nowMs, correlationId });
  };

  // docs/REFERENCE.md §2: Entra may throttle with a plain-text body, which MSAL then fails to parse as JSON.
  const retryAfter = ctx.takeThrottle();
  if (retryAfter !== undefined) {
    req.resume();
    ctx.record({ ...record, status: 429, outcome: "throttled" });
    sendText(res, 429, "Too Many Requests", { "retry-after": String(retryAfter) });
    return;
  }

  const outage = ctx.takeOutage();
  if (outage?.kind === "html-5xx") {
    req.resume();
    ctx.record({ ...record, status: outage.status, outcome: "outage" });
    res.writeHead(outage.status, { "content-type": "text/html; charset=utf-8" });
    res.end(
      "<!DOCTYPE html><html><head><title>Service Unavailable</title></head><body><h1>Service Unavailable</h1></body></html>",
    );
    return;
  }
  if (outage?.kind === "opaque-token") {
    req.resume();
    ctx.record({ ...record, status: 200, outcome: "outage" });
    res.writeHead(200, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store, no-cache" });
    res.end(
      JSON.stringify({
        token_type: "Bearer",
        expires_in: 3599,
        ext_expires_in: 3599,
        access_token: "opaque-reference-token-0f3c9a",
      }),
    );
    return;
  }
  if (outage?.kind === "no-answer") {
    // Read the request, then say nothing: the client's deadline ends it.
    req.resume();
    ctx.record({ ...record, status: 0, outcome: "outage" });
    return;
  }

  const model = ctx.model();
  if (!sameId(tenant, model.tenantId)) {
    req.resume();
    refuseWith(refuse(90002, tenantNotFound(tenant)));
    return;
  }

  let form: URLSearchParams;
  try {
    form = new URLSearchParams(await readBody(req));
  } catch (error) {
    if (!(error instanceof BodyTooLargeError)) throw error;
    sendText(res, 413, "Request Entity Too Large");
    return;
  }
  const basic = parseBasicAuth(headerValue(req, "authorization"));
  const clientId = form.get("client_id") ?? basic?.clientId;
  if (clientId !== undefined) record.clientId = clientId;

  const grantType = form.get("grant_type");
  if (grantType === null) return refuseWith(missingParameter("grant_type"));
  if (grantType !== "client_credentials") {
    return refuseWith(refuse(70003, `The app requested an unsupported grant type '${grantType}'.`));
  }
  if (clientId === undefined) return refuseWith(missingParameter("client_id"));
  if (basic !== undefined && form.has("client_id") && basic.clientId !== form.get("client_id")) {
    return refuseWith(refuse(900144, "The client_id in the Authorization header does not match the request body."));
  }

  let resource: string;
  if (version === "v2") {
    if (form.has("resource")) return refuseWith(refuse(901002, "The 'resource' request parameter is not supported."));
    const scope = form.get("scope");
    if (scope === null) return refuseWith(missingParameter("scope"));
    record.scope = scope;
    const parsed = resourceFromScope(scope);
    if (isRefusal(parsed)) return refuseWith(parsed);
    resource = parsed;
  } else {
    const requested = form.get("resource");
    if (requested === null || requested === "") return refuseWith(missingParameter("resource"));
    resource = requested;
  }
  record.resource = resource;

  const app = model.apps.find((a) => sameId(a.clientId, clientId));
  if (app === undefined) {
    return refuseWith(
      refuse(
        700016,
        `Application with identifier '${clientId}' was not found in the directory '${model.tenantId}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
      ),
    );
  }

  const credentials: ClientCredentials = {
    secret: form.get("client_secret") ?? basic?.secret,
    assertion: form.get("client_assertion") ?? undefined,
    assertionType: form.get("client_assertion_type") ?? undefined,
  };
  const base = `${ctx.origin}/${tenant}`;
  const client = await authenticateClient(app, credentials, {
    model,
    nowMs,
    tokenEndpoints: [`${base}/oauth2/v2.0/token`, `${base}/oauth2/token`],
    keys: ctx.keys,
  });
  if (isRefusal(client)) return refuseWith(client);
  record.authMethod = client.method;

  const found = findResource(model, resource);
  if (found === undefined) {
    return refuseWith(
      refuse(
        500011,
        `The resource principal named ${resource} was not found in the tenant named ${model.tenantId}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.`,
      ),
    );
  }
  const roles = assignedRoles(model, app.clientId, found.app);
  if (found.app.assignmentRequired && roles.length === 0) {
    // Entra's wording for AADSTS501051, as users quote it.
    return refuseWith(
      refuse(
        501051,
        `Application '${app.clientId}'(${app.displayName}) is not assigned to a role for the application '${found.app.clientId}'(${found.app.displayName}).`,
      ),
    );
  }

  const { version: tokenVersion, aud } = audienceFor(found.app, found.byUri);
  const issued = await signAccessToken({
    tenantId: model.tenantId,
    cloud: model.cloud,
    caller: { clientId: app.clientId, objectId: app.objectId, acr: client.acr },
    version: tokenVersion,
    aud,
    roles,
    nowMs,
    lifetimeSeconds: ctx.lifetimeSeconds,
    key: await ctx.keys.signingKey(),
    firstPartyFormat: found.app.firstPartyTokenFormat,
  });
  const expiresIn = issued.exp - Math.floor(nowMs / 1000);
  ctx.record({ ...record, status: 200, outcome: "issued", tokenVersion, ...(roles.length > 0 ? { roles } : {}) });
  const headers = { ...NO_STORE, "x-ms-request-id": randomUUID() };
  // v2 answers numbers; v1 answers strings plus expires_on, not_before and resource (docs/REFERENCE.md §1).
  if (version === "v2") {
    sendJson(
      res,
      200,
      { token_type: "Bearer", expires_in: expiresIn, ext_expires_in: expiresIn, access_token: issued.accessToken },
      headers,
    );
  } else {
    sendJson(
      res,
      200,
      {
        token_type: "Bearer",
        expires_in: String(expiresIn),
        ext_expires_in: String(expiresIn),
        expires_on: String(issued.exp),
        not_before: String(issued.iat),
        resource,
        access_token: issued.accessToken,
      },
      headers,
    );
  }
}

export function tenantNotFound(tenant: string): string {
  return `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.`;
}

function missingParameter(name: string): Refusal {
  return refuse(900144, `The request body must contain the following parameter: '${name}'.`);
}

/** Client credentials take exactly one scope, `{resource}/.default` (docs/REFERENCE.md §1, §2). */
function resourceFromScope(scope: string): string | Refusal {
  const scopes = scope.split(/\s+/).filter((s) => s !== "");
  if (scopes.length !== 1) {
    return refuse(
      70011,
      `The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid. The scope ${scope} is not valid.`,
    );
  }
  const only = scopes[0]!;
  if (!only.endsWith(DEFAULT_SUFFIX)) {
    return refuse(
      1002012,
      `The provided value for scope ${only} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
    );
  }
  const resource = only.slice(0, -DEFAULT_SUFFIX.length);
  if (resource === "") {
    return refuse(
      70011,
      `The provided value for the input parameter 'scope' is not valid. The scope ${scope} is not valid.`,
    );
  }
  return resource;
}

/** RFC 6749 §2.3.1: Basic credentials are form-urlencoded client_id:client_secret. */
function parseBasicAuth(header: string | undefined): { clientId: string; secret: string } | undefined {
  const match = header === undefined ? null : /^Basic\s+(\S+)$/i.exec(header);
  if (match === null) return undefined;
  const decoded = Buffer.from(match[1]!, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) return undefined;
  const unescape = (s: string): string => decodeURIComponent(s.replace(/\+/g, " "));
  try {
    return { clientId: unescape(decoded.slice(0, colon)), secret: unescape(decoded.slice(colon + 1)) };
  } catch {
    return undefined;
  }
}

export function headerValue(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
