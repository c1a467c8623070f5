import { ConfidentialClientApplication, ServerError } from "@azure/msal-node";
import { decodeJwt, decodeProtectedHeader } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  GRAPH,
  ORDERS_API,
  PROBE_CLIENT,
  PROBE_MANAGED_IDENTITY,
  SANDBOX_TENANT_ID,
  UNASSIGNED_CLIENT,
} from "../../../src/sandbox/identities.js";
import { get, RecordingMsalNetworkClient, startTestTenant, verifyWithDiscovery, type TestTenant } from "./harness.js";

/** MSAL types errorNo as a string but passes the server's first error code through as a number. */
function serverErrorOf(error: unknown): { errorCode: string; errorNo: string; status: number | undefined } {
  expect(error).toBeInstanceOf(ServerError);
  const e = error as ServerError;
  return { errorCode: e.errorCode, errorNo: String(e.errorNo), status: e.status };
}

/** Independent client: MSAL Node, as the product and real callers use it, against the emulator. */
describe("Entra emulator with MSAL Node", () => {
  let t: TestTenant;
  let network: RecordingMsalNetworkClient;

  beforeAll(async () => {
    t = await startTestTenant();
    network = new RecordingMsalNetworkClient(t.dispatcher);
  });
  afterAll(async () => {
    // MSAL must only ever have talked to the emulator (knownAuthorities: no instance discovery).
    expect(network.urls.length).toBeGreaterThan(0);
    for (const url of network.urls) expect(url.startsWith(`${t.emulator.origin}/`)).toBe(true);
    await t.close();
  });

  function app(auth: Record<string, unknown>, clientId: string = PROBE_CLIENT.clientId): ConfidentialClientApplication {
    return new ConfidentialClientApplication({
      auth: { clientId, authority: t.authority, knownAuthorities: [new URL(t.emulator.origin).host], ...auth },
      system: { networkClient: network },
    });
  }

  it("issues a v2 token for orders-api with a client secret, with the documented app-only claims", async () => {
    const result = await app({ clientSecret: t.tenant.probeClient.secret.value }).acquireTokenByClientCredential({
      scopes: [`${ORDERS_API.appIdUri}/.default`],
    });
    expect(result?.accessToken).toBeTruthy();
    const { payload, protectedHeader } = await verifyWithDiscovery(t, result!.accessToken, "v2", {
      audience: ORDERS_API.clientId,
    });
    expect(protectedHeader).toMatchObject({ typ: "JWT", alg: "RS256" });
    expect(protectedHeader.kid).toBeTruthy();
    expect(protectedHeader.x5t).toBeUndefined();
    expect(payload).toMatchObject({
      iss: `https://login.microsoftonline.com/${SANDBOX_TENANT_ID}/v2.0`,
      aud: ORDERS_API.clientId,
      azp: PROBE_CLIENT.clientId,
      azpacr: "1",
      roles: [ORDERS_API.role],
      oid: PROBE_CLIENT.objectId,
      sub: PROBE_CLIENT.objectId,
      tid: SANDBOX_TENANT_ID,
      idtyp: "app",
      ver: "2.0",
    });
    expect(payload.appid).toBeUndefined();
    expect(payload.exp! - payload.iat!).toBe(3900);
    expect(payload.nbf).toBe(payload.iat);
    for (const claim of ["uti", "rh", "aio"]) expect(typeof payload[claim]).toBe("string");
  });

  it("issues a v1 token for Graph (the resource decides the version) with its application permission, in Graph's first-party format", async () => {
    const result = await app({ clientSecret: t.tenant.probeClient.secret.value }).acquireTokenByClientCredential({
      scopes: [`${GRAPH.appIdUri}/.default`],
    });
    // A nonce in the header, and a signature the tenant's published keys do not verify (docs/REFERENCE.md §7):
    // what makes a Graph token useless for proving any other API's audience rule.
    const protectedHeader = decodeProtectedHeader(result!.accessToken);
    expect(typeof protectedHeader.nonce).toBe("string");
    await expect(verifyWithDiscovery(t, result!.accessToken, "v1", { audience: GRAPH.appIdUri })).rejects.toMatchObject(
      { code: "ERR_JWS_SIGNATURE_VERIFICATION_FAILED" },
    );
    const payload = decodeJwt(result!.accessToken);
    expect(protectedHeader.x5t).toBe(protectedHeader.kid);
    expect(payload).toMatchObject({
      iss: `https://sts.windows.net/${SANDBOX_TENANT_ID}/`,
      aud: GRAPH.appIdUri,
      appid: PROBE_CLIENT.clientId,
      appidacr: "1",
      oid: PROBE_CLIENT.objectId,
      ver: "1.0",
    });
    // The probe holds Graph's Application.Read.All (credential-expiry reads its registration with it).
    expect(payload["roles"]).toEqual(["Application.Read.All"]);
    expect(payload.azp).toBeUndefined();
  });

  it("authenticates with a certificate assertion (PS256, x5t#S256)", async () => {
    const { certificate } = t.tenant.probeClient;
    const result = await app({
      clientCertificate: { thumbprintSha256: certificate.thumbprintSha256, privateKey: certificate.keyPem },
    }).acquireTokenByClientCredential({ scopes: [`${ORDERS_API.appIdUri}/.default`] });
    const { payload } = await verifyWithDiscovery(t, result!.accessToken, "v2");
    expect(payload).toMatchObject({ azp: PROBE_CLIENT.clientId, azpacr: "2", roles: [ORDERS_API.role] });
    expect(t.emulator.tokenRequests().at(-1)).toMatchObject({ authMethod: "certificate", outcome: "issued" });
  });

  it("authenticates with a federated assertion: the managed identity's token for api://AzureADTokenExchange", async () => {
    const clientAssertion = async (): Promise<string> => {
      const url = new URL(t.emulator.identityEndpoint);
      url.search = new URLSearchParams({
        "api-version": "2019-08-01",
        resource: "api://AzureADTokenExchange",
        client_id: PROBE_MANAGED_IDENTITY.clientId,
      }).toString();
      const res = await get(t, url.toString(), { "x-identity-header": t.emulator.identityHeader });
      expect(res.status).toBe(200);
      return res.json["access_token"] as string;
    };
    const result = await app({ clientAssertion }).acquireTokenByClientCredential({
      scopes: [`${ORDERS_API.appIdUri}/.default`],
    });
    const { payload } = await verifyWithDiscovery(t, result!.accessToken, "v2");
    expect(payload).toMatchObject({ azp: PROBE_CLIENT.clientId, oid: PROBE_CLIENT.objectId, roles: [ORDERS_API.role] });
    expect(t.emulator.tokenRequests().at(-1)).toMatchObject({
      authMethod: "federated",
      outcome: "issued",
      tokenVersion: "2.0",
    });
  });

  it("refuses a federated assertion for the wrong client (no matching federated credential)", async () => {
    const url = `${t.emulator.identityEndpoint}?api-version=2019-08-01&resource=api://AzureADTokenExchange&client_id=${PROBE_MANAGED_IDENTITY.clientId}`;
    const miToken = (await get(t, url, { "x-identity-header": t.emulator.identityHeader })).json[
      "access_token"
    ] as string;
    const error = await app({ clientAssertion: miToken }, UNASSIGNED_CLIENT.clientId)
      .acquireTokenByClientCredential({ scopes: [`${ORDERS_API.appIdUri}/.default`] })
      .catch((e: unknown) => e);
    expect(serverErrorOf(error)).toEqual({ errorCode: "invalid_request", errorNo: "700211", status: 400 });
  });

  it("surfaces AADSTS501051 (invalid_grant) to MSAL for a client without the role", async () => {
    const error = await app({ clientSecret: t.tenant.unassignedClient.secret.value }, UNASSIGNED_CLIENT.clientId)
      .acquireTokenByClientCredential({ scopes: [`${ORDERS_API.appIdUri}/.default`] })
      .catch((e: unknown) => e);
    expect(serverErrorOf(error)).toEqual({ errorCode: "invalid_grant", errorNo: "501051", status: 400 });
  });

  it("surfaces AADSTS7000215 (invalid_client, 401) to MSAL for the secret's id sent as its value", async () => {
    const error = await app({ clientSecret: t.tenant.probeClient.secret.id })
      .acquireTokenByClientCredential({ scopes: [`${ORDERS_API.appIdUri}/.default`] })
      .catch((e: unknown) => e);
    expect(serverErrorOf(error)).toEqual({ errorCode: "invalid_client", errorNo: "7000215", status: 401 });
  });

  it("keeps the token's kid in the published key set", async () => {
    const result = await app({ clientSecret: t.tenant.probeClient.secret.value }).acquireTokenByClientCredential({
      scopes: [`${ORDERS_API.clientId}/.default`],
      skipCache: true,
    });
    const kid = decodeProtectedHeader(result!.accessToken).kid;
    const keys = (await get(t, `${t.authority}/discovery/v2.0/keys`)).json["keys"] as { kid: string }[];
    expect(keys.map((k) => k.kid)).toContain(kid);
  });
});
