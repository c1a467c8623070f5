import { decodeJwt, generateKeyPair, importPKCS8, SignJWT, type CryptoKey } from "jose";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { parseTenantModel } from "../../../src/sandbox/entra/model.js";
import {
  GRAPH,
  ORDERS_API,
  PROBE_CLIENT,
  PROBE_MANAGED_IDENTITY,
  SANDBOX_TENANT_ID,
  UNASSIGNED_CLIENT,
} from "../../../src/sandbox/identities.js";
import {
  entraErrorOf,
  get,
  postForm,
  startTestTenant,
  verifyWithDiscovery,
  type RawResponse,
  type TestTenant,
} from "./harness.js";

/** Raw HTTP against the token endpoints: the documented wire format, no client library in between. */
describe("Entra emulator token endpoints", () => {
  let t: TestTenant;
  let v2: string;
  let v1: string;
  const secret = (): string => t.tenant.probeClient.secret.value;

  beforeAll(async () => {
    t = await startTestTenant();
    v2 = `${t.authority}/oauth2/v2.0/token`;
    v1 = `${t.authority}/oauth2/token`;
  });
  afterAll(async () => {
    await t.close();
  });
  beforeEach(() => {
    t.emulator.setModel(t.tenant.model);
  });

  function expectEntraError(res: RawResponse, status: number, error: string, code: number): void {
    expect(res.status).toBe(status);
    const body = entraErrorOf(res);
    expect(body.error).toBe(error);
    expect(body.code).toBe(code);
    expect(body.description.startsWith(`AADSTS${code}: `)).toBe(true);
    expect(body.description).toMatch(
      /Trace ID: [0-9a-f-]{36}\r\nCorrelation ID: [0-9a-f-]{36}\r\nTimestamp: \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/,
    );
    expect(res.json).toMatchObject({
      timestamp: expect.any(String) as unknown,
      trace_id: expect.any(String) as unknown,
      correlation_id: expect.any(String) as unknown,
      error_uri: expect.stringContaining(String(code)) as unknown,
    });
    expect(res.headers["cache-control"]).toBe("no-store, no-cache");
    expect(res.headers["x-ms-request-id"]).toBe(res.json["trace_id"]);
  }

  const v2Form = (extra: Record<string, string> = {}): Record<string, string> => ({
    grant_type: "client_credentials",
    client_id: PROBE_CLIENT.clientId,
    client_secret: secret(),
    scope: `${ORDERS_API.appIdUri}/.default`,
    ...extra,
  });

  it("answers v2 with numbers and the no-store headers", async () => {
    const res = await postForm(t, v2, v2Form());
    expect(res.status).toBe(200);
    expect(res.headers["cache-control"]).toBe("no-store, no-cache");
    expect(res.headers["x-ms-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
    expect(Object.keys(res.json).sort()).toEqual(["access_token", "expires_in", "ext_expires_in", "token_type"]);
    expect(res.json).toMatchObject({ token_type: "Bearer", expires_in: 3900, ext_expires_in: 3900 });
  });

  it("answers v1 with strings plus expires_on, not_before and resource; the resource picks the version", async () => {
    const res = await postForm(t, v1, {
      grant_type: "client_credentials",
      client_id: PROBE_CLIENT.clientId,
      client_secret: secret(),
      resource: ORDERS_API.appIdUri,
    });
    expect(res.status).toBe(200);
    const body = res.json as Record<string, string>;
    expect(body).toMatchObject({
      token_type: "Bearer",
      expires_in: "3900",
      ext_expires_in: "3900",
      resource: ORDERS_API.appIdUri,
    });
    expect(Number(body["expires_on"]) - Number(body["not_before"])).toBe(3900);
    // orders-api accepts v2 tokens: the v1 endpoint still issues a v2 token (docs/REFERENCE.md §1).
    const { payload } = await verifyWithDiscovery(t, body["access_token"]!, "v2", { audience: ORDERS_API.clientId });
    expect(payload.ver).toBe("2.0");
  });

  it("puts the GUID in a v1 token's aud when the request named the resource by GUID", async () => {
    const res = await postForm(t, v1, {
      grant_type: "client_credentials",
      client_id: PROBE_CLIENT.clientId,
      client_secret: secret(),
      resource: GRAPH.clientId,
    });
    // Graph's tokens are first-party (they do not verify outside Graph): read, not verified.
    const payload = decodeJwt(res.json["access_token"] as string);
    expect(payload).toMatchObject({ aud: GRAPH.clientId, ver: "1.0", appid: PROBE_CLIENT.clientId });
  });

  it("accepts the secret through HTTP Basic", async () => {
    const basic = Buffer.from(`${encodeURIComponent(PROBE_CLIENT.clientId)}:${encodeURIComponent(secret())}`).toString(
      "base64",
    );
    const res = await postForm(
      t,
      v2,
      { grant_type: "client_credentials", scope: `${ORDERS_API.appIdUri}/.default` },
      { authorization: `Basic ${basic}` },
    );
    expect(res.status).toBe(200);
  });

  it("AADSTS7000215 for the secret's id sent as its value", async () => {
    expectEntraError(
      await postForm(t, v2, v2Form({ client_secret: t.tenant.probeClient.secret.id })),
      401,
      "invalid_client",
      7000215,
    );
  });

  it("AADSTS7000222 for an expired secret", async () => {
    const model = structuredClone(t.tenant.model);
    model.apps.find((a) => a.clientId === PROBE_CLIENT.clientId)!.secrets[0]!.expiresAt = "2020-01-01T00:00:00Z";
    t.emulator.setModel(model);
    expectEntraError(await postForm(t, v2, v2Form()), 401, "invalid_client", 7000222);
  });

  it("AADSTS7000218 when neither secret nor assertion is sent", async () => {
    const form = v2Form();
    delete form["client_secret"];
    expectEntraError(await postForm(t, v2, form), 401, "invalid_client", 7000218);
  });

  it("AADSTS700016 for an unknown client", async () => {
    expectEntraError(
      await postForm(t, v2, v2Form({ client_id: "0b1e2d3c-4f5a-4b6c-8d7e-9f0a1b2c3d4e" })),
      400,
      "unauthorized_client",
      700016,
    );
  });

  it("AADSTS500011 for an unknown resource", async () => {
    expectEntraError(
      await postForm(t, v2, v2Form({ scope: "api://no-such-api/.default" })),
      400,
      "invalid_resource",
      500011,
    );
  });

  it("AADSTS1002012 for a scope without /.default, AADSTS70011 for two scopes", async () => {
    expectEntraError(
      await postForm(t, v2, v2Form({ scope: `${ORDERS_API.appIdUri}/Api.Access` })),
      400,
      "invalid_scope",
      1002012,
    );
    expectEntraError(
      await postForm(t, v2, v2Form({ scope: `${ORDERS_API.appIdUri}/.default ${GRAPH.appIdUri}/.default` })),
      400,
      "invalid_scope",
      70011,
    );
  });

  it("AADSTS901002 for `resource` sent to v2", async () => {
    expectEntraError(await postForm(t, v2, v2Form({ resource: ORDERS_API.appIdUri })), 400, "invalid_request", 901002);
  });

  it("AADSTS90002 for an unknown tenant, on the token endpoints and on discovery", async () => {
    const other = `${t.emulator.origin}/11111111-2222-4333-8444-555555555555`;
    expectEntraError(await postForm(t, `${other}/oauth2/v2.0/token`, v2Form()), 400, "invalid_tenant", 90002);
    expectEntraError(await postForm(t, `${other}/oauth2/token`, v2Form()), 400, "invalid_tenant", 90002);
    const discovery = await get(t, `${other}/v2.0/.well-known/openid-configuration`);
    expect(discovery.status).toBe(400);
    expect(entraErrorOf(discovery)).toMatchObject({ error: "invalid_tenant", code: 90002 });
  });

  it("AADSTS501051 (invalid_grant) for an unassigned client of an assignment-required API, but a token for Graph", async () => {
    const stranger = { client_id: UNASSIGNED_CLIENT.clientId, client_secret: t.tenant.unassignedClient.secret.value };
    expectEntraError(await postForm(t, v2, v2Form(stranger)), 400, "invalid_grant", 501051);
    const graph = await postForm(t, v2, v2Form({ ...stranger, scope: `${GRAPH.appIdUri}/.default` }));
    expect(graph.status).toBe(200);
  });

  it("issues a token without `roles` when assignment is not required and no role is assigned", async () => {
    const model = structuredClone(t.tenant.model);
    model.apps.find((a) => a.clientId === ORDERS_API.clientId)!.assignmentRequired = false;
    t.emulator.setModel(model);
    const res = await postForm(
      t,
      v2,
      v2Form({ client_id: UNASSIGNED_CLIENT.clientId, client_secret: t.tenant.unassignedClient.secret.value }),
    );
    const { payload } = await verifyWithDiscovery(t, res.json["access_token"] as string, "v2");
    expect(payload.azp).toBe(UNASSIGNED_CLIENT.clientId);
    expect("roles" in payload).toBe(false);
  });

  describe("certificate assertions", () => {
    const assertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
    async function assertion(
      options: { key?: CryptoKey; exp?: number; aud?: string; thumbprint?: string } = {},
    ): Promise<string> {
      const { certificate } = t.tenant.probeClient;
      const key = options.key ?? (await importPKCS8(certificate.keyPem, "PS256"));
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ jti: crypto.randomUUID() })
        .setProtectedHeader({
          alg: "PS256",
          typ: "JWT",
          "x5t#S256": options.thumbprint ?? Buffer.from(certificate.thumbprintSha256, "hex").toString("base64url"),
        })
        .setIssuer(PROBE_CLIENT.clientId)
        .setSubject(PROBE_CLIENT.clientId)
        .setAudience(options.aud ?? v2)
        .setNotBefore(now)
        .setExpirationTime(options.exp ?? now + 600)
        .sign(key);
    }
    const form = (clientAssertion: string): Record<string, string> => ({
      grant_type: "client_credentials",
      client_id: PROBE_CLIENT.clientId,
      client_assertion_type: assertionType,
      client_assertion: clientAssertion,
      scope: `${ORDERS_API.appIdUri}/.default`,
    });

    it("accepts a well-formed assertion (azpacr 2)", async () => {
      const res = await postForm(t, v2, form(await assertion()));
      expect(res.status).toBe(200);
      const { payload } = await verifyWithDiscovery(t, res.json["access_token"] as string, "v2");
      expect(payload.azpacr).toBe("2");
    });

    it("AADSTS700027 for an assertion signed by another key or naming an unknown certificate", async () => {
      const { privateKey } = await generateKeyPair("PS256");
      expectEntraError(
        await postForm(t, v2, form(await assertion({ key: privateKey }))),
        401,
        "invalid_client",
        700027,
      );
      expectEntraError(
        await postForm(t, v2, form(await assertion({ thumbprint: "AAAA" }))),
        401,
        "invalid_client",
        700027,
      );
    });

    it("AADSTS700027 for an assertion whose audience is not the token endpoint", async () => {
      expectEntraError(
        await postForm(t, v2, form(await assertion({ aud: "https://example.test/token" }))),
        401,
        "invalid_client",
        700027,
      );
    });

    it("AADSTS700024 for an expired assertion", async () => {
      const exp = Math.floor(Date.now() / 1000) - 3600;
      expectEntraError(await postForm(t, v2, form(await assertion({ exp }))), 401, "invalid_client", 700024);
    });
  });

  it("throttles the next n token requests with a plain-text 429 and Retry-After, then answers again", async () => {
    t.emulator.throttleNext(2, 7);
    for (const url of [v2, v1]) {
      const res = await postForm(t, url, v2Form());
      expect(res.status).toBe(429);
      expect(res.headers["retry-after"]).toBe("7");
      expect(res.text).toBe("Too Many Requests");
    }
    expect((await postForm(t, v2, v2Form())).status).toBe(200);
    expect(t.emulator.tokenRequests().filter((r) => r.outcome === "throttled")).toHaveLength(2);
  });

  it("records requests with client, resource, endpoint and outcome, never a secret", async () => {
    await postForm(t, v2, v2Form({ client_secret: "wrong" }));
    const records = t.emulator.tokenRequests();
    expect(records.at(-1)).toMatchObject({
      endpoint: "v2",
      tenant: SANDBOX_TENANT_ID,
      clientId: PROBE_CLIENT.clientId,
      resource: ORDERS_API.appIdUri,
      outcome: "refused",
      status: 401,
      aadsts: 7000215,
      error: "invalid_client",
    });
    expect(
      records.some((r) => r.outcome === "issued" && r.tokenVersion === "2.0" && r.roles?.includes(ORDERS_API.role)),
    ).toBe(true);
    const serialized = JSON.stringify(records);
    expect(serialized).not.toContain(secret());
    expect(serialized).not.toContain(t.tenant.unassignedClient.secret.value);
    expect(serialized).not.toContain("eyJ");
  });

  it("refuses a tenant model change that is invalid and keeps the old model", async () => {
    expect(() =>
      t.emulator.setModel({
        ...t.tenant.model,
        managedIdentities: [{ clientId: PROBE_MANAGED_IDENTITY.clientId } as { clientId: string; principalId: string }],
      }),
    ).toThrow(
      expect.objectContaining({ code: "APIM_SMOKE_TENANT_MODEL", path: "managedIdentities[0].principalId" }) as Error,
    );
    expect((await postForm(t, v2, v2Form())).status).toBe(200);
    expect(parseTenantModel(t.tenant.model)).toEqual(t.tenant.model);
  });
});
