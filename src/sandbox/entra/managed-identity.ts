import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { CLOUDS } from "../../entra/clouds.js";
import { assignedRoles, audienceFor, findResource, signAccessToken, type TokenVersion } from "./access-token.js";
import type { EmulatorContext, TokenRequestRecord } from "./context.js";
import { AADSTS, refuse, sendRefusal } from "./errors.js";
import { NO_STORE, sendJson } from "./http.js";
import { sameId, type TenantModel } from "./model.js";
import { headerValue } from "./token-endpoint.js";

export const MANAGED_IDENTITY_PATH = "/msi/token";
const API_VERSION = "2019-08-01";

/**
 * The App Service / Functions managed-identity endpoint (docs/REFERENCE.md §6):
 * `GET {IDENTITY_ENDPOINT}?api-version=2019-08-01&resource=...[&client_id=...]` with
 * `X-IDENTITY-HEADER`. Only user-assigned identities exist in the model, so `client_id` is required
 * (App Service answers an error when no system-assigned identity is enabled).
 *
 * Errors of the endpoint itself (header, api-version, identity) use the shape MSAL's managed-identity
 * sources read: `{error, error_description}` (App Service's exact wording is not documented). An unknown
 * resource is Entra's refusal, relayed: AADSTS500011.
 */
export async function handleManagedIdentityRequest(
  url: URL,
  req: IncomingMessage,
  res: ServerResponse,
  ctx: EmulatorContext,
): Promise<void> {
  req.resume();
  const nowMs = ctx.now();
  const model = ctx.model();
  const resourceParam = url.searchParams.get("resource") ?? "";
  // @azure/identity passes scopes; the App Service protocol takes a resource.
  const resource = resourceParam.replace(/\/\.default$/, "");
  const clientId = url.searchParams.get("client_id") ?? undefined;
  const record: TokenRequestRecord = {
    at: new Date(nowMs).toISOString(),
    endpoint: "managed-identity",
    tenant: model.tenantId,
    resource,
    authMethod: "managed-identity",
    status: 0,
    outcome: "refused",
    ...(clientId === undefined ? {} : { clientId }),
  };
  const fail = (status: number, error: string, description: string): void => {
    ctx.record({ ...record, status, error });
    sendJson(res, status, { error, error_description: description }, NO_STORE);
  };

  if (headerValue(req, "x-identity-header") !== ctx.identityHeader) {
    return fail(
      401,
      "unauthorized_client",
      "The X-IDENTITY-HEADER header is missing or does not match IDENTITY_HEADER.",
    );
  }
  if (url.searchParams.get("api-version") !== API_VERSION) {
    return fail(400, "invalid_request", `api-version must be ${API_VERSION}.`);
  }
  if (resource === "") return fail(400, "invalid_request", "The 'resource' query parameter is required.");
  if (clientId === undefined) {
    return fail(
      400,
      "invalid_request",
      "No system-assigned managed identity is enabled; pass client_id of a user-assigned identity.",
    );
  }
  const identity = model.managedIdentities.find((mi) => sameId(mi.clientId, clientId));
  if (identity === undefined) {
    return fail(
      400,
      "invalid_request",
      `No user-assigned managed identity with client_id ${clientId} is assigned to this app.`,
    );
  }

  const audience = audienceOf(model, resource, identity.clientId);
  if (audience === undefined) {
    const refusal = refuse(
      500011,
      `The resource principal named ${resource} was not found in the tenant named ${model.tenantId}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.`,
    );
    ctx.record({ ...record, status: AADSTS[500011].status, aadsts: 500011, error: AADSTS[500011].error });
    sendRefusal(res, refusal, { now: nowMs });
    return;
  }

  const issued = await signAccessToken({
    tenantId: model.tenantId,
    cloud: model.cloud,
    caller: { clientId: identity.clientId, objectId: identity.principalId, acr: "2" },
    version: audience.version,
    aud: audience.aud,
    roles: audience.roles,
    nowMs,
    lifetimeSeconds: ctx.lifetimeSeconds,
    key: await ctx.keys.signingKey(),
  });
  ctx.record({
    ...record,
    status: 200,
    outcome: "issued",
    tokenVersion: issued.version,
    ...(audience.roles.length > 0 ? { roles: audience.roles } : {}),
  });
  // App Service's answer: expires_on is a string of Unix seconds; client_id names the identity.
  sendJson(
    res,
    200,
    {
      access_token: issued.accessToken,
      expires_on: String(issued.exp),
      resource: resourceParam,
      token_type: "Bearer",
      client_id: identity.clientId,
    },
    { ...NO_STORE, "x-ms-request-id": randomUUID() },
  );
}

/**
 * The token-exchange audience (not an app in the model) gets a v2-issued token whose `aud` is the
 * resource as asked, which is what federated credentials list (docs/REFERENCE.md §6). Apps in the model follow the
 * resource's accessTokenAcceptedVersion, like every other token (docs/REFERENCE.md §1).
 */
function audienceOf(
  model: TenantModel,
  resource: string,
  clientId: string,
): { version: TokenVersion; aud: string; roles: string[] } | undefined {
  // Each cloud has its own token-exchange audience (docs/REFERENCE.md §7); another cloud's is an unknown resource.
  const exchange = CLOUDS[model.cloud].federatedAudience;
  if (resource === exchange) return { version: "2.0", aud: exchange, roles: [] };
  const found = findResource(model, resource);
  if (found === undefined) return undefined;
  return { ...audienceFor(found.app, found.byUri), roles: assignedRoles(model, clientId, found.app) };
}
