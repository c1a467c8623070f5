import { readFileSync } from "node:fs";
import { Agent, request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createOpenIdConfigResolver, METADATA_TTL_MS } from "../../../src/policy/index.js";
import { startApimGateway, type ApimGateway } from "../../../src/sandbox/apim/index.js";
import { createDefaultTenant, type DefaultTenant } from "../../../src/sandbox/entra/default-tenant.js";
import { startEntraEmulator, type EntraEmulator } from "../../../src/sandbox/entra/server.js";
import {
  GRAPH,
  ORDERS_API,
  ORDERS_OPERATION_PATH,
  PROBE_CLIENT,
  SANDBOX_TENANT_ID,
} from "../../../src/sandbox/identities.js";
import { createSandboxCa } from "../../../src/sandbox/tls/ca.js";

/**
 * The gateway with the two policies, against the emulated Entra tenant: its discovery documents,
 * its JWKS and the tokens its client-credentials endpoint issues. The policies keep Azure's real
 * openid-config URLs; the resolver sends login.microsoftonline.com to the emulator.
 */
const KEY = "integration-subscription-key-000000000";
const fixture = (name: string) => readFileSync(new URL(`../../fixtures/policies/${name}`, import.meta.url), "utf8");

let entra: EntraEmulator;
let gateway: ApimGateway;
let dispatcher: Agent;
let tenant: DefaultTenant;
/** Moves the resolver's clock only, to cross APIM's hourly refresh without waiting. */
let resolverOffsetMs = 0;

beforeAll(async () => {
  const ca = await createSandboxCa();
  const tls = await ca.issueServerCertificate();
  tenant = await createDefaultTenant();
  entra = await startEntraEmulator({ model: tenant.model, tls });
  dispatcher = new Agent({ connect: { ca: ca.certPem } });
  const openIdConfig = createOpenIdConfigResolver({
    dispatcher,
    now: () => Date.now() + resolverOffsetMs,
    rewriteUrl: (url) =>
      url.hostname === "login.microsoftonline.com" ? new URL(`${url.pathname}${url.search}`, entra.origin) : url,
  });
  gateway = await startApimGateway({
    tls: { ...tls, caPem: ca.certPem },
    openIdConfig,
    apis: [
      {
        name: "orders",
        path: "/orders",
        subscriptionRequired: true,
        subscriptionKeys: [KEY],
        policyXml: fixture("recommended-entra-jwt.xml"),
      },
      {
        name: "aud-azp",
        path: "/aud-azp",
        subscriptionRequired: true,
        subscriptionKeys: [KEY],
        policyXml: fixture("aud-azp-required-claims.xml"),
      },
    ],
  });
});
afterAll(async () => {
  await gateway?.close();
  await entra?.close();
  await dispatcher?.close();
});

async function tokenFor(scope: string): Promise<string> {
  const response = await request(`${entra.origin}/${SANDBOX_TENANT_ID}/oauth2/v2.0/token`, {
    method: "POST",
    dispatcher,
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "client_credentials",
      client_id: PROBE_CLIENT.clientId,
      client_secret: tenant.probeClient.secret.value,
      scope,
    }).toString(),
  });
  expect(response.statusCode).toBe(200);
  return ((await response.body.json()) as { access_token: string }).access_token;
}

async function call(path: string, token: string) {
  const response = await request(`${gateway.origin}${path}`, {
    dispatcher,
    headers: { "ocp-apim-subscription-key": KEY, authorization: `Bearer ${token}` },
  });
  return { status: response.statusCode, body: (await response.body.json()) as Record<string, unknown> };
}

const lastReason = () => gateway.requests().at(-1)?.reason;

describe("gateway + emulated Entra tenant", () => {
  it("accepts the probe's token under the recommended and the aud/azp policies", async () => {
    const token = await tokenFor(`${ORDERS_API.appIdUri}/.default`);
    expect(await call(ORDERS_OPERATION_PATH, token)).toMatchObject({
      status: 200,
      body: { api: "orders", path: "/health" },
    });
    expect((await call("/aud-azp/health", token)).status).toBe(200);
  });

  it("refuses a Graph token for its signature, not its audience: why the wrong-audience default is the probe's own app", async () => {
    const token = await tokenFor(`${GRAPH.appIdUri}/.default`);
    expect(await call(ORDERS_OPERATION_PATH, token)).toEqual({
      status: 401,
      body: { statusCode: 401, message: "Invalid JWT." },
    });
    // Graph's first-party format fails signature validation before any claim is looked at, so a
    // gateway without an audience rule would refuse it all the same.
    expect(lastReason()).toBe("TokenSignatureInvalid");
  });

  it("refuses the probe's own-app token for its audience alone", async () => {
    const token = await tokenFor(`${PROBE_CLIENT.clientId}/.default`);
    expect((await call(ORDERS_OPERATION_PATH, token)).status).toBe(401);
    expect(lastReason()).toBe("TokenAudienceNotAllowed");
  });

  it("after a key rotation: the pre-published key works at once, the retired one fails after the hourly refresh", async () => {
    const old = await tokenFor(`${ORDERS_API.appIdUri}/.default`);
    expect((await call(ORDERS_OPERATION_PATH, old)).status).toBe(200);
    entra.rotateSigningKeys();
    const rotated = await tokenFor(`${ORDERS_API.appIdUri}/.default`);
    // Entra publishes the next key before it signs with it: the cached JWKS already holds it.
    expect((await call(ORDERS_OPERATION_PATH, rotated)).status).toBe(200);
    // The cached JWKS still holds the retired key until the hourly refresh (docs/REFERENCE.md §3).
    expect((await call(ORDERS_OPERATION_PATH, old)).status).toBe(200);
    resolverOffsetMs += METADATA_TTL_MS;
    expect((await call(ORDERS_OPERATION_PATH, old)).status).toBe(401);
    expect(lastReason()).toBe("TokenSignatureKeyNotFound");
    expect((await call(ORDERS_OPERATION_PATH, rotated)).status).toBe(200);
  });
});
