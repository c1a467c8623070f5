import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createOpenIdConfigResolver,
  evaluateValidateJwt,
  parsePolicy,
  PolicyError,
  type SigningKeyResolver,
  type ValidateJwtPolicy,
} from "../../src/policy/index.js";
import {
  createSigningKey,
  mintToken,
  startOpenIdTestServer,
  V2_OPENID_URL,
  v2Claims,
  type OpenIdTestServer,
  type SigningKey,
} from "./helpers/issuer.js";

// The current validate-jwt reference (learn.microsoft.com/azure/api-management/validate-jwt-policy):
// a <key id> that matches no kid, ES256, clock-skew as a timespan, token sources written as policy expressions.

const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);
let server: OpenIdTestServer;
let rsa: SigningKey;
let ec: SigningKey;
let keys: SigningKeyResolver;

beforeAll(async () => {
  rsa = await createSigningKey("rsa-kid");
  ec = await createSigningKey("ec-kid", "ES256");
  server = await startOpenIdTestServer([rsa.publicJwk, ec.publicJwk]);
  keys = createOpenIdConfigResolver({ dispatcher: server.dispatcher, now: () => NOW, rewriteUrl: server.rewriteUrl });
});
afterAll(() => server.close());

const check = (xml: string): ValidateJwtPolicy => parsePolicy(xml).validateJwt!;
const evaluate = (policy: ValidateJwtPolicy, headers: Record<string, string>, url = "https://apim.example/orders") =>
  evaluateValidateJwt(policy, { headers: new Headers(headers), url: new URL(url) }, { keys, now: () => NOW });

describe("validate-jwt as the current reference describes it", () => {
  it("accepts an ES256 token signed with an EC key the openid-config publishes", async () => {
    const policy = check(
      `<validate-jwt header-name="Authorization"><openid-config url="${V2_OPENID_URL}" /></validate-jwt>`,
    );
    const token = await mintToken(ec, v2Claims(NOW), { alg: "ES256" });
    expect(await evaluate(policy, { authorization: `Bearer ${token}` })).toMatchObject({ ok: true });
  });

  it("never verifies an ES256 token with an RSA key, nor an RS256 one with an EC key", async () => {
    const policy = check(
      `<validate-jwt header-name="Authorization"><openid-config url="${V2_OPENID_URL}" /></validate-jwt>`,
    );
    const lying = await mintToken(ec, v2Claims(NOW), { alg: "ES256", kid: rsa.kid });
    expect(await evaluate(policy, { authorization: `Bearer ${lying}` })).toMatchObject({
      ok: false,
      reason: "TokenSignatureInvalid",
    });
  });

  it("a <key id> that matches no kid: every key is tried, and the right one verifies", async () => {
    const policy = check(
      `<validate-jwt header-name="Authorization"><issuer-signing-keys><key id="last-years-kid" n="${rsa.publicJwk.n}" e="${rsa.publicJwk.e}" /></issuer-signing-keys></validate-jwt>`,
    );
    const token = await mintToken(rsa, v2Claims(NOW), { kid: "this-years-kid" });
    expect(await evaluate(policy, { authorization: `Bearer ${token}` })).toMatchObject({ ok: true });
  });

  it.each([
    ["300", 300],
    ["00:05:00", 300],
    ["00:10", 600],
    ["0.00:02:30.500", 150],
  ])("reads clock-skew %s as %i s", (written, seconds) => {
    expect(
      check(
        `<validate-jwt header-name="Authorization" clock-skew="${written}"><openid-config url="${V2_OPENID_URL}" /></validate-jwt>`,
      ).clockSkewSeconds,
    ).toBe(seconds);
  });

  it.each(["5m", "00:61:00", "-10", "2.00:00:00"])("refuses clock-skew %s, naming the attribute", (written) => {
    expect(() => check(`<validate-jwt header-name="Authorization" clock-skew="${written}" />`)).toThrow(PolicyError);
    expect(() => check(`<validate-jwt header-name="Authorization" clock-skew="${written}" />`)).toThrow(/clock-skew/);
  });

  it("a clock-skew timespan is applied: a token expired 4 minutes ago passes 00:05:00 and fails 00:03:00", async () => {
    const token = await mintToken(rsa, v2Claims(NOW, { exp: NOW / 1000 - 240 }));
    const withSkew = (skew: string) =>
      check(
        `<validate-jwt header-name="Authorization" clock-skew="${skew}"><openid-config url="${V2_OPENID_URL}" /></validate-jwt>`,
      );
    expect(await evaluate(withSkew("00:05:00"), { authorization: `Bearer ${token}` })).toMatchObject({ ok: true });
    expect(await evaluate(withSkew("00:03:00"), { authorization: `Bearer ${token}` })).toMatchObject({
      ok: false,
      reason: "TokenExpired",
    });
  });
});

describe("token sources written as policy expressions: evaluated, never taken as the token", () => {
  const config = `<openid-config url="${V2_OPENID_URL}" />`;

  it.each([
    [
      `@(context.Request.Headers.GetValueOrDefault("Authorization","").Split(' ').Last())`,
      (t: string) => ({ authorization: `Bearer ${t}` }),
    ],
    [
      `@(context.Request.Headers.GetValueOrDefault("Authorization", "").Replace("Bearer ", ""))`,
      (t: string) => ({ authorization: `Bearer ${t}` }),
    ],
    [`@(context.Request.Headers.GetValueOrDefault("X-Token"))`, (t: string) => ({ "x-token": t })],
  ])("token-value=%s reads the request", async (expression, headers) => {
    const policy = check(`<validate-jwt token-value="${expression.replace(/"/g, "&quot;")}">${config}</validate-jwt>`);
    expect(policy.tokenSource.kind).toBe("expression");
    const token = await mintToken(rsa, v2Claims(NOW));
    expect(await evaluate(policy, headers(token))).toMatchObject({ ok: true });
    expect(await evaluate(policy, {})).toMatchObject({ ok: false, reason: "TokenNotPresent" });
  });

  it("rawxml form: the expression's quotes are raw", async () => {
    const policy = check(
      `<validate-jwt token-value="@(context.Request.Headers.GetValueOrDefault("Authorization","").Split(' ')[1])">${config}</validate-jwt>`,
    );
    const token = await mintToken(rsa, v2Claims(NOW));
    expect(await evaluate(policy, { authorization: `Bearer ${token}` })).toMatchObject({ ok: true });
  });

  it("a token-value from a context variable is not evaluable offline, and says so", async () => {
    const policy = check(
      `<validate-jwt token-value="@((string)context.Variables[&quot;accessToken&quot;])">${config}</validate-jwt>`,
    );
    const token = await mintToken(rsa, v2Claims(NOW));
    const outcome = await evaluate(policy, { authorization: `Bearer ${token}` });
    expect(outcome).toMatchObject({ ok: false, reason: "JwtInvalid" });
    expect(outcome.ok || outcome.detail).toMatch(/not evaluable offline/);
  });

  it("an expression in header-name is evaluated to the header's name", async () => {
    const policy = check(`<validate-jwt header-name="@(&quot;X-Api-Token&quot;)">${config}</validate-jwt>`);
    const token = await mintToken(rsa, v2Claims(NOW));
    expect(await evaluate(policy, { "x-api-token": token })).toMatchObject({ ok: true });
    expect(await evaluate(policy, { authorization: `Bearer ${token}` })).toMatchObject({
      ok: false,
      reason: "TokenNotPresent",
    });
  });
});
