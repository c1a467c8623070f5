import { createRemoteJWKSet, customFetch, decodeProtectedHeader, errors, jwtVerify } from "jose";
import { fetch as undiciFetch } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ORDERS_API, PROBE_CLIENT, SANDBOX_TENANT_ID } from "../../../src/sandbox/identities.js";
import type { JsonWebKeySet } from "../../../src/sandbox/entra/signing-keys.js";
import { get, postForm, startTestTenant, verifyWithDiscovery, type TestTenant } from "./harness.js";

type Jwk = JsonWebKeySet["keys"][number];

describe("Entra emulator discovery and keys", () => {
  let t: TestTenant;

  beforeAll(async () => {
    t = await startTestTenant();
  });
  afterAll(async () => {
    await t.close();
  });

  async function token(): Promise<string> {
    const res = await postForm(t, `${t.authority}/oauth2/v2.0/token`, {
      grant_type: "client_credentials",
      client_id: PROBE_CLIENT.clientId,
      client_secret: t.tenant.probeClient.secret.value,
      scope: `${ORDERS_API.appIdUri}/.default`,
    });
    expect(res.status).toBe(200);
    return res.json["access_token"] as string;
  }

  async function keys(path: string): Promise<Jwk[]> {
    const res = await get(t, `${t.emulator.origin}${path}`);
    expect(res.status).toBe(200);
    return res.json["keys"] as Jwk[];
  }

  it("serves v1 and v2 metadata with the real Entra issuers and endpoints on the emulator", async () => {
    const v2 = (await get(t, `${t.authority}/v2.0/.well-known/openid-configuration`)).json;
    expect(v2).toMatchObject({
      issuer: `https://login.microsoftonline.com/${SANDBOX_TENANT_ID}/v2.0`,
      token_endpoint: `${t.authority}/oauth2/v2.0/token`,
      jwks_uri: `${t.authority}/discovery/v2.0/keys`,
      authorization_endpoint: `${t.authority}/oauth2/v2.0/authorize`,
    });
    const v1 = (await get(t, `${t.authority}/.well-known/openid-configuration`)).json;
    expect(v1).toMatchObject({
      issuer: `https://sts.windows.net/${SANDBOX_TENANT_ID}/`,
      token_endpoint: `${t.authority}/oauth2/token`,
      jwks_uri: `${t.emulator.origin}/common/discovery/keys`,
    });
    const common = (await get(t, `${t.emulator.origin}/common/v2.0/.well-known/openid-configuration`)).json;
    expect(common["issuer"]).toBe("https://login.microsoftonline.com/{tenantid}/v2.0");
  });

  it("publishes at least two RSA keys with kid = x5t and x5c; v2 sets carry the issuer", async () => {
    const v2 = await keys(`/${SANDBOX_TENANT_ID}/discovery/v2.0/keys`);
    expect(v2.length).toBeGreaterThanOrEqual(2);
    expect(new Set(v2.map((k) => k.kid)).size).toBe(v2.length);
    for (const k of v2) {
      expect(k).toMatchObject({
        kty: "RSA",
        use: "sig",
        e: "AQAB",
        issuer: `https://login.microsoftonline.com/${SANDBOX_TENANT_ID}/v2.0`,
      });
      expect(k.kid).toBe(k.x5t);
      expect(k.x5c).toHaveLength(1);
    }
    const v1 = await keys(`/common/discovery/keys`);
    expect(v1.map((k) => k.kid)).toEqual(v2.map((k) => k.kid));
    for (const k of v1) expect(k.issuer).toBeUndefined();
    expect((await keys(`/${SANDBOX_TENANT_ID}/discovery/keys`)).map((k) => k.kid)).toEqual(v1.map((k) => k.kid));
    const common = await keys(`/common/discovery/v2.0/keys`);
    expect(common[0]!.issuer).toBe("https://login.microsoftonline.com/{tenantid}/v2.0");
  });

  it("rotation retires the key old tokens were signed with: their kid leaves the set and jose cannot verify them", async () => {
    const old = await token();
    const oldKid = decodeProtectedHeader(old).kid!;
    const before = (await keys(`/${SANDBOX_TENANT_ID}/discovery/v2.0/keys`)).map((k) => k.kid);
    expect(before).toContain(oldKid);

    t.emulator.rotateSigningKeys();

    const after = (await keys(`/${SANDBOX_TENANT_ID}/discovery/v2.0/keys`)).map((k) => k.kid);
    expect(after).not.toContain(oldKid);
    expect(after).toHaveLength(before.length);
    expect(after.slice(0, -1)).toEqual(before.slice(1));

    const jwks = createRemoteJWKSet(new URL(`${t.authority}/discovery/v2.0/keys`), {
      [customFetch]: (url: string, init: RequestInit) =>
        undiciFetch(url, {
          ...(init as Parameters<typeof undiciFetch>[1]),
          dispatcher: t.dispatcher,
        }) as unknown as Promise<Response>,
    });
    await expect(jwtVerify(old, jwks)).rejects.toBeInstanceOf(errors.JWKSNoMatchingKey);

    const fresh = await token();
    expect(decodeProtectedHeader(fresh).kid).not.toBe(oldKid);
    await expect(verifyWithDiscovery(t, fresh, "v2")).resolves.toBeTruthy();
  });

  it("answers 404 for an unknown path and 405 for a GET on a token endpoint", async () => {
    expect((await get(t, `${t.authority}/nothing-here`)).status).toBe(404);
    expect((await get(t, `${t.authority}/oauth2/v2.0/token`)).status).toBe(405);
  });
});

describe("Entra emulator token lifetime and clock", () => {
  it("honours tokenLifetimeSeconds and the injected clock: jose rejects the token once exp has passed", async () => {
    let nowMs = Date.UTC(2030, 0, 1, 12, 0, 0);
    const t = await startTestTenant({ tokenLifetimeSeconds: 2, now: () => nowMs });
    try {
      const res = await postForm(t, `${t.authority}/oauth2/v2.0/token`, {
        grant_type: "client_credentials",
        client_id: PROBE_CLIENT.clientId,
        client_secret: t.tenant.probeClient.secret.value,
        scope: `${ORDERS_API.appIdUri}/.default`,
      });
      expect(res.json["expires_in"]).toBe(2);
      const accessToken = res.json["access_token"] as string;
      const { payload } = await verifyWithDiscovery(t, accessToken, "v2", { currentDate: new Date(nowMs + 1000) });
      expect(payload.iat).toBe(nowMs / 1000);
      expect(payload.exp).toBe(nowMs / 1000 + 2);
      await expect(
        verifyWithDiscovery(t, accessToken, "v2", { currentDate: new Date(nowMs + 3000) }),
      ).rejects.toBeInstanceOf(errors.JWTExpired);

      // The same clock decides secret expiry: the default tenant's secrets expire after 180 days.
      nowMs += 181 * 24 * 3600 * 1000;
      const late = await postForm(t, `${t.authority}/oauth2/v2.0/token`, {
        grant_type: "client_credentials",
        client_id: PROBE_CLIENT.clientId,
        client_secret: t.tenant.probeClient.secret.value,
        scope: `${ORDERS_API.appIdUri}/.default`,
      });
      expect(late.json["error_codes"]).toEqual([7000222]);
    } finally {
      await t.close();
    }
  });
});
