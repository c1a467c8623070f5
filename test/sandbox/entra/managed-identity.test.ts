import { getCACertificates, setDefaultCACertificates } from "node:tls";
import { ManagedIdentityCredential } from "@azure/identity";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ORDERS_API,
  PROBE_MANAGED_IDENTITY,
  SANDBOX_TENANT_ID,
  TOKEN_EXCHANGE_AUDIENCE,
} from "../../../src/sandbox/identities.js";
import { get, startTestTenant, verifyWithDiscovery, type TestTenant } from "./harness.js";

/**
 * @azure/identity runs unmodified: it finds the endpoint through IDENTITY_ENDPOINT/IDENTITY_HEADER.
 * Its HTTP pipeline uses Node's default trust store, so this file (its own process under vitest's
 * `forks` pool) adds the sandbox CA with `tls.setDefaultCACertificates` (Node 22.19+) and restores the
 * previous store afterwards. The library's `httpClient` option would also work but means writing a
 * second pipeline client.
 */
describe("managed-identity endpoint (App Service protocol)", () => {
  let t: TestTenant;
  const savedEnv = {
    IDENTITY_ENDPOINT: process.env["IDENTITY_ENDPOINT"],
    IDENTITY_HEADER: process.env["IDENTITY_HEADER"],
  };
  const savedCa = getCACertificates("default");

  beforeAll(async () => {
    t = await startTestTenant();
    setDefaultCACertificates([...savedCa, t.caPem]);
    process.env["IDENTITY_ENDPOINT"] = t.emulator.identityEndpoint;
    process.env["IDENTITY_HEADER"] = t.emulator.identityHeader;
  });
  afterAll(async () => {
    for (const [name, value] of Object.entries(savedEnv)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    setDefaultCACertificates(savedCa);
    await t.close();
  });

  it("gives ManagedIdentityCredential a token for api://AzureADTokenExchange: sub/oid the principal, v2 issuer", async () => {
    const credential = new ManagedIdentityCredential({ clientId: PROBE_MANAGED_IDENTITY.clientId });
    const token = await credential.getToken(`${TOKEN_EXCHANGE_AUDIENCE}/.default`);
    expect(token.expiresOnTimestamp).toBeGreaterThan(Date.now() + 3000_000);
    const { payload } = await verifyWithDiscovery(t, token.token, "v2", { audience: TOKEN_EXCHANGE_AUDIENCE });
    expect(payload).toMatchObject({
      iss: `https://login.microsoftonline.com/${SANDBOX_TENANT_ID}/v2.0`,
      aud: TOKEN_EXCHANGE_AUDIENCE,
      sub: PROBE_MANAGED_IDENTITY.principalId,
      oid: PROBE_MANAGED_IDENTITY.principalId,
      azp: PROBE_MANAGED_IDENTITY.clientId,
      tid: SANDBOX_TENANT_ID,
      idtyp: "app",
    });
    expect(t.emulator.tokenRequests().at(-1)).toMatchObject({
      endpoint: "managed-identity",
      clientId: PROBE_MANAGED_IDENTITY.clientId,
      resource: TOKEN_EXCHANGE_AUDIENCE,
      outcome: "issued",
    });
  });

  it("answers in the App Service shape: expires_on as a string, resource, token_type, client_id", async () => {
    const url = `${t.emulator.identityEndpoint}?api-version=2019-08-01&resource=${encodeURIComponent(TOKEN_EXCHANGE_AUDIENCE)}&client_id=${PROBE_MANAGED_IDENTITY.clientId}`;
    const res = await get(t, url, { "x-identity-header": t.emulator.identityHeader });
    expect(res.status).toBe(200);
    expect(Object.keys(res.json).sort()).toEqual(["access_token", "client_id", "expires_on", "resource", "token_type"]);
    expect(res.json).toMatchObject({
      resource: TOKEN_EXCHANGE_AUDIENCE,
      token_type: "Bearer",
      client_id: PROBE_MANAGED_IDENTITY.clientId,
    });
    expect(res.json["expires_on"]).toMatch(/^\d{10}$/);
  });

  it("refuses a missing or wrong X-IDENTITY-HEADER, an unknown identity, and an unknown resource", async () => {
    const base = `${t.emulator.identityEndpoint}?api-version=2019-08-01&resource=${encodeURIComponent(TOKEN_EXCHANGE_AUDIENCE)}`;
    const withId = `${base}&client_id=${PROBE_MANAGED_IDENTITY.clientId}`;
    expect((await get(t, withId)).status).toBe(401);
    expect((await get(t, withId, { "x-identity-header": "nope" })).status).toBe(401);
    const unknown = await get(t, `${base}&client_id=0b1e2d3c-4f5a-4b6c-8d7e-9f0a1b2c3d4e`, {
      "x-identity-header": t.emulator.identityHeader,
    });
    expect(unknown.status).toBe(400);
    const noResource = await get(
      t,
      `${t.emulator.identityEndpoint}?api-version=2019-08-01&resource=api://nothing&client_id=${PROBE_MANAGED_IDENTITY.clientId}`,
      { "x-identity-header": t.emulator.identityHeader },
    );
    expect(noResource.status).toBe(400);
    expect(noResource.json["error_codes"]).toEqual([500011]);
  });

  it("gives a managed identity a token for an app in the model, versioned by that app", async () => {
    const credential = new ManagedIdentityCredential({ clientId: PROBE_MANAGED_IDENTITY.clientId });
    const token = await credential.getToken(`${ORDERS_API.appIdUri}/.default`);
    const { payload } = await verifyWithDiscovery(t, token.token, "v2", { audience: ORDERS_API.clientId });
    expect(payload).toMatchObject({ ver: "2.0", azp: PROBE_MANAGED_IDENTITY.clientId });
    expect("roles" in payload).toBe(false);
  });
});
