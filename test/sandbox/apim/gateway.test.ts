import { readFileSync } from "node:fs";
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PolicyError } from "../../../src/core/errors.js";
import { createOpenIdConfigResolver } from "../../../src/policy/index.js";
import {
  APIM_MESSAGES,
  REQUEST_ID_HEADER,
  startApimGateway,
  type ApimGateway,
  type BackendEcho,
} from "../../../src/sandbox/apim/index.js";
import { GRAPH, ORDERS_API_PATH, ORDERS_OPERATION_PATH, UNASSIGNED_CLIENT } from "../../../src/sandbox/identities.js";
import {
  createSigningKey,
  mintToken,
  startOpenIdTestServer,
  unsignedToken,
  v1Claims,
  v2Claims,
  type OpenIdTestServer,
  type SigningKey,
} from "../../policy/helpers/issuer.js";

const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);
const KEY = "0123456789abcdef0123456789abcdef";
const LEGACY_KEY = "fedcba9876543210fedcba9876543210";
const fixture = (name: string) => readFileSync(new URL(`../../fixtures/policies/${name}`, import.meta.url), "utf8");

let openId: OpenIdTestServer;
let gateway: ApimGateway;
let published: SigningKey;
let forger: SigningKey;
let good: string;

beforeAll(async () => {
  [published, forger] = await Promise.all([createSigningKey("published-kid"), createSigningKey("forger-kid")]);
  openId = await startOpenIdTestServer([published.publicJwk]);
  good = await mintToken(published, v2Claims(NOW));
  gateway = await startApimGateway({
    tls: { ...openId.tls, caPem: openId.caPem },
    now: () => NOW,
    openIdConfig: createOpenIdConfigResolver({
      dispatcher: openId.dispatcher,
      now: () => NOW,
      rewriteUrl: openId.rewriteUrl,
    }),
    apis: [
      {
        name: "orders",
        path: ORDERS_API_PATH,
        subscriptionRequired: true,
        subscriptionKeys: [KEY],
        policyXml: fixture("recommended-entra-jwt.xml"),
      },
      { name: "orders-v2", path: `${ORDERS_API_PATH}/v2`, subscriptionRequired: false, subscriptionKeys: [] },
      { name: "open", path: "/open", subscriptionRequired: true, subscriptionKeys: [KEY] },
      {
        name: "keyless",
        path: "/keyless",
        subscriptionRequired: false,
        subscriptionKeys: [],
        policyXml: fixture("recommended-entra-jwt.xml"),
      },
      {
        name: "legacy",
        path: "/legacy",
        subscriptionRequired: true,
        subscriptionKeys: [LEGACY_KEY],
        subscriptionKeyHeaderName: "X-Api-Key",
        subscriptionKeyQueryParamName: "apikey",
        policyXml: fixture("aud-azp-required-claims.xml"),
      },
    ],
  });
});
afterAll(async () => {
  await gateway?.close();
  await openId?.close();
});

async function call(path: string, headers: Record<string, string> = {}, method: "GET" | "POST" = "GET") {
  const response = await request(`${gateway.origin}${path}`, {
    method,
    headers,
    dispatcher: openId.dispatcher,
    ...(method === "POST" ? { body: '{"ping":true}' } : {}),
  });
  const text = await response.body.text();
  return {
    status: response.statusCode,
    headers: response.headers,
    text,
    json: () => JSON.parse(text) as Record<string, unknown>,
  };
}

const withKey = (token?: string): Record<string, string> => ({
  "ocp-apim-subscription-key": KEY,
  ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
});

function lastRecord() {
  const records = gateway.requests();
  return records[records.length - 1]!;
}

describe("APIM gateway: the probe matrix", () => {
  it("valid: good token and key reach the backend with forwarded headers", async () => {
    const response = await call(`${ORDERS_OPERATION_PATH}?x=1`, withKey(good));
    expect(response.status).toBe(200);
    expect(response.headers[REQUEST_ID_HEADER]).toMatch(/^[0-9a-f-]{36}$/);
    const echo = response.json() as unknown as BackendEcho;
    expect(echo).toMatchObject({
      api: "orders",
      method: "GET",
      path: "/health",
      query: "?x=1",
      authorizationScheme: "Bearer",
      // APIM passes the key on to the backend unless a policy removes it (docs/REFERENCE.md §7).
      subscriptionKeyForwarded: true,
      forwarded: { for: "127.0.0.1", proto: "https", host: new URL(gateway.origin).host },
    });
    expect(lastRecord()).toMatchObject({
      api: "orders",
      path: ORDERS_OPERATION_PATH,
      status: 200,
      requestId: response.headers[REQUEST_ID_HEADER],
    });
    expect(lastRecord().reason).toBeUndefined();
  });

  it("no-subscription-key: APIM's 401 body and WWW-Authenticate, before validate-jwt", async () => {
    const response = await call(ORDERS_OPERATION_PATH, {});
    expect(response.status).toBe(401);
    expect(response.headers["content-type"]).toMatch(/^application\/json/);
    expect(response.json()).toEqual({ statusCode: 401, message: APIM_MESSAGES.missingKey });
    expect(response.headers["www-authenticate"]).toBe(
      `AzureApiManagementKey realm="https://${new URL(gateway.origin).host}/orders",name="Ocp-Apim-Subscription-Key",type="header"`,
    );
    expect(response.headers[REQUEST_ID_HEADER]).toBeDefined();
    expect(lastRecord()).toMatchObject({ api: "orders", status: 401, reason: "SubscriptionKeyNotFound" });
  });

  it("invalid-subscription-key: the invalid-key body", async () => {
    const response = await call(ORDERS_OPERATION_PATH, {
      "ocp-apim-subscription-key": "wrong",
      authorization: `Bearer ${good}`,
    });
    expect(response.status).toBe(401);
    expect(response.json()).toEqual({ statusCode: 401, message: APIM_MESSAGES.invalidKey });
    expect(response.headers["www-authenticate"]).toContain('name="Ocp-Apim-Subscription-Key"');
    expect(lastRecord().reason).toBe("SubscriptionKeyInvalid");
  });

  it("accepts the key in the subscription-key query parameter and does not forward it", async () => {
    const response = await call(`${ORDERS_OPERATION_PATH}?subscription-key=${KEY}&y=2`, {
      authorization: `Bearer ${good}`,
    });
    expect(response.status).toBe(200);
    expect((response.json() as { query: string }).query).toBe("?y=2");
  });

  it("no-token: 401 JWT not present.", async () => {
    const response = await call(ORDERS_OPERATION_PATH, withKey());
    expect(response.status).toBe(401);
    expect(response.json()).toEqual({ statusCode: 401, message: "JWT not present." });
    expect(lastRecord()).toMatchObject({ status: 401, reason: "TokenNotPresent" });
  });

  const refusals: { probe: string; token: () => Promise<string> | string; reason: string }[] = [
    {
      probe: "wrong-audience",
      token: () => mintToken(published, v2Claims(NOW, { aud: GRAPH.appIdUri })),
      reason: "TokenAudienceNotAllowed",
    },
    { probe: "expired-token", token: () => mintToken(published, v2Claims(NOW - 4000_000)), reason: "TokenExpired" },
    {
      probe: "forged-signature",
      token: () => mintToken(forger, v2Claims(NOW), { kid: "published-kid" }),
      reason: "TokenSignatureInvalid",
    },
    {
      probe: "forged-signature (unknown kid)",
      token: () => mintToken(forger, v2Claims(NOW)),
      reason: "TokenSignatureKeyNotFound",
    },
    { probe: "alg-none", token: () => unsignedToken(v2Claims(NOW)), reason: "TokenSignatureInvalid" },
    {
      probe: "unassigned-client (no roles)",
      token: async () => {
        const { roles: _roles, ...claims } = v2Claims(NOW, { azp: UNASSIGNED_CLIENT.clientId });
        return mintToken(published, claims);
      },
      reason: "TokenClaimNotFound",
    },
    {
      probe: "v1 token against v2 openid-config",
      token: () => mintToken(published, v1Claims(NOW)),
      reason: "TokenIssuerNotAllowed",
    },
  ];

  it.each(refusals)("$probe: 401 Invalid JWT. ($reason)", async ({ token, reason }) => {
    const value = await token();
    const response = await call(ORDERS_OPERATION_PATH, withKey(value));
    expect(response.status).toBe(401);
    expect(response.json()).toEqual({ statusCode: 401, message: "Invalid JWT." });
    expect(response.headers["www-authenticate"]).toBeUndefined();
    expect(lastRecord()).toMatchObject({ api: "orders", status: 401, reason });
    expect(JSON.stringify(gateway.requests())).not.toContain(value);
  });

  it("an API without validate-jwt is open: a key alone reaches the backend", async () => {
    const response = await call("/open/anything", withKey());
    expect(response.status).toBe(200);
    expect(response.json()).toMatchObject({ api: "open", path: "/anything" });
  });

  it("an API without subscription requirement needs no key, but still validates the token", async () => {
    expect((await call("/keyless/x", { authorization: `Bearer ${good}` })).status).toBe(200);
    const noToken = await call("/keyless/x", {});
    expect(noToken.status).toBe(401);
    expect(noToken.json()).toEqual({ statusCode: 401, message: "JWT not present." });
  });

  it("routes by the longest API suffix and answers APIM's 404 otherwise", async () => {
    expect((await call(`${ORDERS_API_PATH}/v2/health`)).json()).toMatchObject({ api: "orders-v2", path: "/health" });
    const missing = await call("/ordersx/health", withKey(good));
    expect(missing.status).toBe(404);
    expect(missing.json()).toEqual({ statusCode: 404, message: "Resource not found" });
    expect(missing.headers[REQUEST_ID_HEADER]).toBeDefined();
    expect(lastRecord()).toMatchObject({ status: 404, reason: "ResourceNotFound" });
    expect(lastRecord().api).toBeUndefined();
  });

  it("forwards a POST body", async () => {
    const response = await call(
      ORDERS_OPERATION_PATH,
      { ...withKey(good), "content-type": "application/json" },
      "POST",
    );
    expect(response.status).toBe(200);
    expect(response.json()).toMatchObject({ method: "POST" });
  });

  it("never records a key or a token", () => {
    const recorded = JSON.stringify(gateway.requests());
    expect(recorded).not.toContain(KEY);
    expect(recorded).not.toContain(good);
    expect(recorded).not.toContain(good.split(".")[2]!);
  });
});

describe("APIM gateway: the aud/azp policy with custom subscription key names", () => {
  it("takes the key from the configured header and query parameter", async () => {
    expect((await call("/legacy/x", { "x-api-key": LEGACY_KEY, authorization: `Bearer ${good}` })).status).toBe(200);
    expect((await call(`/legacy/x?apikey=${LEGACY_KEY}`, { authorization: `Bearer ${good}` })).status).toBe(200);
    const missing = await call("/legacy/x", {
      "ocp-apim-subscription-key": LEGACY_KEY,
      authorization: `Bearer ${good}`,
    });
    expect(missing.status).toBe(401);
    expect(missing.json()).toEqual({ statusCode: 401, message: APIM_MESSAGES.missingKey });
    expect(missing.headers["www-authenticate"]).toContain('name="X-Api-Key"');
  });

  it("answers the policy's message when azp is not the allowed client", async () => {
    const stranger = await mintToken(published, v2Claims(NOW, { azp: UNASSIGNED_CLIENT.clientId }));
    const response = await call("/legacy/x", { "x-api-key": LEGACY_KEY, authorization: `Bearer ${stranger}` });
    expect(response.status).toBe(401);
    expect(response.json()).toEqual({ statusCode: 401, message: "Unauthorized. Invalid token." });
    expect(lastRecord()).toMatchObject({ api: "legacy", reason: "TokenClaimValueNotAllowed" });
  });
});

describe("APIM gateway: programmable backend", () => {
  it("passes a backend 5xx through unchanged, for one API only", async () => {
    gateway.setBackend({ status: 503, apiName: "orders" });
    try {
      const failing = await call(ORDERS_OPERATION_PATH, withKey(good));
      expect(failing.status).toBe(503);
      // The backend's own problem document, not APIM's `{statusCode, message}` shape.
      expect(failing.json()).toMatchObject({ status: 503, title: "Backend error" });
      expect(failing.json()).not.toHaveProperty("statusCode");
      expect(failing.headers["content-type"]).toMatch(/^application\/problem\+json/);
      expect(failing.headers[REQUEST_ID_HEADER]).toBeDefined();
      expect(lastRecord()).toMatchObject({ api: "orders", status: 503 });
      expect(lastRecord().reason).toBeUndefined();
      expect((await call("/open/x", withKey())).status).toBe(200);
    } finally {
      gateway.setBackend({ apiName: "orders" });
    }
    expect((await call(ORDERS_OPERATION_PATH, withKey(good))).status).toBe(200);
  });

  it("delays the answer by the programmed latency", async () => {
    gateway.setBackend({ latencyMs: 300 });
    try {
      const started = performance.now();
      expect((await call("/open/x", withKey())).status).toBe(200);
      expect(performance.now() - started).toBeGreaterThanOrEqual(290);
    } finally {
      gateway.setBackend({});
    }
  });

  it("refuses setBackend for an unknown API", () => {
    expect(() => gateway.setBackend({ apiName: "nope", status: 500 })).toThrow(TypeError);
  });
});

describe("startApimGateway: start-up validation", () => {
  it("fails with the PolicyError of a bad policy, before listening", async () => {
    const error = await startApimGateway({
      tls: openId.tls,
      openIdConfig: createOpenIdConfigResolver({ dispatcher: openId.dispatcher, now: () => NOW }),
      apis: [
        {
          name: "bad",
          path: "/bad",
          subscriptionRequired: false,
          subscriptionKeys: [],
          policyXml: '<validate-jwt header-name="Authorization" clock-skew="five" />',
        },
      ],
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PolicyError);
    expect(error).toMatchObject({ code: "APIM_SMOKE_POLICY", element: "validate-jwt/@clock-skew" });
  });

  it("refuses two APIs on the same path", async () => {
    const api = { name: "a", path: "/a", subscriptionRequired: false, subscriptionKeys: [] };
    await expect(
      startApimGateway({
        tls: openId.tls,
        openIdConfig: createOpenIdConfigResolver({ dispatcher: openId.dispatcher, now: () => NOW }),
        apis: [api, { ...api, name: "b", path: "/a/" }],
      }),
    ).rejects.toThrow(TypeError);
  });
});
