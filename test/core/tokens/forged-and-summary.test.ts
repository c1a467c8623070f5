import { decodeJwt, decodeProtectedHeader, generateKeyPair, jwtVerify, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { Secret } from "../../../src/core/settings/secret.js";
import { ExpiredTokenStore } from "../../../src/core/tokens/expired-token-store.js";
import { algNoneToken, forgeSignature } from "../../../src/core/tokens/forged.js";
import { summarizeToken } from "../../../src/core/tokens/summary.js";

const tenantKeys = await generateKeyPair("RS256");

async function tenantToken(claims: Record<string, unknown>, expSeconds: number): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: "RS256", typ: "JWT", kid: "tenant-kid-1", x5t: "tenant-kid-1" })
    .setExpirationTime(expSeconds)
    .sign(tenantKeys.privateKey);
}

const V2_CLAIMS = {
  aud: "3f9a2c71-5d84-4b0e-a6c3-8e1f7b2d9045",
  iss: "https://login.microsoftonline.com/7d3c2f4e-1a6b-4c59-9e2d-5b8f0a1c3e47/v2.0",
  ver: "2.0",
  azp: "c2a8e5f1-7b39-4d06-8e4a-1f5c9b3d7a62",
  roles: ["Api.Access"],
  oid: "e91b4d27-6c05-4a83-b1f8-3d7e2a5c9046",
};

describe("forged tokens", () => {
  it("forged-signature keeps header (kid) and claims but no published key verifies it", async () => {
    const valid = await tenantToken(V2_CLAIMS, 2_000_000_000);
    const forged = await forgeSignature(valid);
    expect(decodeProtectedHeader(forged)).toEqual(decodeProtectedHeader(valid));
    expect(decodeJwt(forged)).toEqual(decodeJwt(valid));
    expect(forged.split(".")[2]).not.toBe(valid.split(".")[2]);
    await expect(jwtVerify(valid, tenantKeys.publicKey)).resolves.toBeDefined();
    await expect(jwtVerify(forged, tenantKeys.publicKey)).rejects.toMatchObject({
      code: "ERR_JWS_SIGNATURE_VERIFICATION_FAILED",
    });
  });

  it("forged-signature signs once per token, however many targets share it", async () => {
    const valid = await tenantToken(V2_CLAIMS, 2_000_000_001);
    const first = forgeSignature(valid);
    expect(forgeSignature(valid)).toBe(first);
    const other = await tenantToken({ ...V2_CLAIMS, roles: ["Other"] }, 2_000_000_001);
    expect(await forgeSignature(other)).not.toBe(await first);
  });

  it("alg-none carries the same claims, header {alg:none,typ:JWT}, empty signature", async () => {
    const valid = await tenantToken(V2_CLAIMS, 2_000_000_000);
    const unsigned = algNoneToken(valid);
    expect(decodeProtectedHeader(unsigned)).toEqual({ alg: "none", typ: "JWT" });
    expect(decodeJwt(unsigned)).toEqual(decodeJwt(valid));
    expect(unsigned.endsWith(".")).toBe(true);
  });
});

describe("summarizeToken", () => {
  it("v2: aud, iss, ver, client from azp, roles, exp, kid, alg and nothing else", async () => {
    const token = await tenantToken(V2_CLAIMS, 2_000_000_000);
    expect(summarizeToken(token)).toEqual({
      aud: V2_CLAIMS.aud,
      iss: V2_CLAIMS.iss,
      ver: "2.0",
      client: V2_CLAIMS.azp,
      roles: ["Api.Access"],
      exp: 2_000_000_000,
      kid: "tenant-kid-1",
      alg: "RS256",
    });
    expect(JSON.stringify(summarizeToken(token))).not.toContain(token.split(".")[2]);
  });

  it("v1: client from appid; roles absent stays absent", async () => {
    const token = await tenantToken(
      { aud: "api://orders-api", iss: "https://sts.windows.net/t/", ver: "1.0", appid: "abc" },
      2_000_000_000,
    );
    const summary = summarizeToken(token);
    expect(summary).toMatchObject({ client: "abc", ver: "1.0" });
    expect(summary).not.toHaveProperty("roles");
  });

  it("shows the claims of a token from elsewhere as data: control characters escaped, never terminal control", async () => {
    const token = await new SignJWT({
      ...V2_CLAIMS,
      aud: "api://x\u001b[2J",
      iss: "https://issuer\u001b]0;title\u0007/",
      roles: ["Api.Access", "Admin\u202e"],
      scp: "a\r\nb",
    })
      .setProtectedHeader({ alg: "RS256", kid: "k\u009b31m" })
      .setExpirationTime(2_000_000_000)
      .sign(tenantKeys.privateKey);
    const summary = summarizeToken(token)!;
    expect(summary).toMatchObject({
      aud: "api://x\\x1b[2J",
      iss: "https://issuer\\x1b]0;title\\x07/",
      roles: ["Api.Access", "Admin\\u202e"],
      scp: "a  b",
      kid: "k\\x9b31m",
    });
  });

  it("undefined for something that is not a JWT", () => {
    expect(summarizeToken("not-a-token")).toBeUndefined();
  });
});

describe("ExpiredTokenStore", () => {
  it("hands out a remembered token only once it is past exp + margin", async () => {
    let nowMs = 1_000_000_000_000;
    const store = new ExpiredTokenStore({ now: () => nowMs, marginMs: 60_000 });
    const expSeconds = nowMs / 1000 + 3600;
    const token = new Secret(await tenantToken(V2_CLAIMS, expSeconds));
    store.remember("api://orders-api/.default", token);
    expect(store.expired("api://orders-api/.default")).toBeUndefined();
    nowMs = expSeconds * 1000 + 59_000;
    expect(store.expired("api://orders-api/.default")).toBeUndefined();
    nowMs = expSeconds * 1000 + 61_000;
    expect(store.expired("api://orders-api/.default")?.reveal()).toBe(token.reveal());
    expect(store.expired("api://other/.default")).toBeUndefined();
  });

  it("keeps an older token when MSAL renews before expiry, so one still ages", async () => {
    let nowMs = 1_000_000_000_000;
    const store = new ExpiredTokenStore({ now: () => nowMs, marginMs: 0 });
    const first = new Secret(await tenantToken({ ...V2_CLAIMS, n: 1 }, nowMs / 1000 + 100));
    const second = new Secret(await tenantToken({ ...V2_CLAIMS, n: 2 }, nowMs / 1000 + 3700));
    store.remember("s", first);
    store.remember("s", second);
    nowMs += 200_000;
    expect(store.expired("s")?.reveal()).toBe(first.reveal());
  });
});

describe("ExpiredTokenStore under short token lifetimes", () => {
  it("keeps the earliest token while newer ones keep coming, so one ages with any lifetime", async () => {
    let nowMs = 1_000_000_000_000;
    const store = new ExpiredTokenStore({ now: () => nowMs });
    const tokens: Secret[] = [];
    // A 5-second lifetime and a run every 2 s: each run brings a new token (MSAL renews near expiry).
    for (let tick = 0; tick < 12; tick++) {
      const t = new Secret(await tenantToken({ ...V2_CLAIMS, n: tick }, Math.floor(nowMs / 1000) + 5));
      tokens.push(t);
      store.remember("s", t);
      if (store.expired("s", 10_000)) break;
      nowMs += 2_000;
    }
    expect(store.expired("s", 10_000)?.reveal()).toBe(tokens[0]!.reveal());
    // A token remembered after that ages in turn and replaces it: the expired token stays recent.
    store.remember("s", new Secret(await tenantToken({ ...V2_CLAIMS, n: 99 }, Math.floor(nowMs / 1000) + 5)));
    nowMs += 30_000;
    expect(store.expired("s", 10_000)?.reveal()).not.toBe(tokens[0]!.reveal());
  });

  it("waits for the policy's clock-skew: 300 s and our margin when the policy is unknown", async () => {
    const { expiryMarginMs } = await import("../../../src/core/tokens/expired-token-store.js");
    expect(expiryMarginMs(undefined)).toBe(310_000);
    expect(expiryMarginMs(0)).toBe(10_000);
    expect(expiryMarginMs(120)).toBe(130_000);
  });
});

describe("Secret", () => {
  it("never prints its value", async () => {
    const { inspect } = await import("node:util");
    const s = new Secret("canary-secret-value");
    expect(`${String(s)} ${JSON.stringify({ s })} ${inspect(s)}`).not.toContain("canary");
    expect(s.reveal()).toBe("canary-secret-value");
  });
});
