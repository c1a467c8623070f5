import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createOpenIdConfigResolver,
  evaluateValidateJwt,
  parsePolicy,
  type JwtValidationOutcome,
  type SigningKeyResolver,
  type ValidateJwtPolicy,
} from "../../src/policy/index.js";
import { GRAPH, ORDERS_API, PROBE_CLIENT, UNASSIGNED_CLIENT } from "../../src/sandbox/identities.js";
import {
  createSigningKey,
  mintToken,
  startOpenIdTestServer,
  unsignedToken,
  V1_ISSUER,
  V1_OPENID_URL,
  V2_OPENID_URL,
  v1Claims,
  v2Claims,
  type OpenIdTestServer,
  type SigningKey,
} from "./helpers/issuer.js";

const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);
const fixture = (name: string) => readFileSync(new URL(`../fixtures/policies/${name}`, import.meta.url), "utf8");
const recommended = parsePolicy(fixture("recommended-entra-jwt.xml")).validateJwt!;
const audAzp = parsePolicy(fixture("aud-azp-required-claims.xml")).validateJwt!;

let server: OpenIdTestServer;
let published: SigningKey;
let forger: SigningKey;
let keys: SigningKeyResolver;

beforeAll(async () => {
  published = await createSigningKey("published-kid");
  forger = await createSigningKey("forger-kid");
  server = await startOpenIdTestServer([published.publicJwk]);
  keys = createOpenIdConfigResolver({ dispatcher: server.dispatcher, now: () => NOW, rewriteUrl: server.rewriteUrl });
});
afterAll(async () => {
  await server.close();
});

function evaluate(
  policy: ValidateJwtPolicy,
  headers: Record<string, string>,
  url = "https://apim.example/orders/health",
) {
  return evaluateValidateJwt(policy, { headers: new Headers(headers), url: new URL(url) }, { keys, now: () => NOW });
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

function expectFailure(outcome: JwtValidationOutcome, reason: string, status = 401, message = "Invalid JWT.") {
  expect(outcome).toMatchObject({ ok: false, reason, status, message });
}

describe("evaluateValidateJwt against the recommended policy (v2 openid-config, audiences, roles any)", () => {
  it("accepts a good v2 token and returns its claims", async () => {
    const outcome = await evaluate(recommended, bearer(await mintToken(published, v2Claims(NOW))));
    expect(outcome.ok).toBe(true);
    if (outcome.ok) {
      expect(outcome.claims.azp).toBe(PROBE_CLIENT.clientId);
      expect(outcome.header.kid).toBe("published-kid");
    }
  });

  it("accepts the scheme case-insensitively", async () => {
    const token = await mintToken(published, v2Claims(NOW));
    expect((await evaluate(recommended, { authorization: `bearer ${token}` })).ok).toBe(true);
  });

  it("refuses a request without a token: TokenNotPresent, 'JWT not present.'", async () => {
    expectFailure(await evaluate(recommended, {}), "TokenNotPresent", 401, "JWT not present.");
  });

  it("refuses the wrong scheme without echoing the credential", async () => {
    const token = await mintToken(published, v2Claims(NOW));
    const basic = await evaluate(recommended, { authorization: `Basic ${token}` });
    expectFailure(basic, "TokenNotPresent", 401, "JWT not present.");
    expect(basic.ok || basic.detail).toContain("received Basic");
    const bare = await evaluate(recommended, { authorization: token });
    expectFailure(bare, "TokenNotPresent", 401, "JWT not present.");
    expect(bare.ok || bare.detail).not.toContain(token.slice(0, 20));
  });

  it("refuses a token for another audience (Graph) and names both audiences", async () => {
    const outcome = await evaluate(
      recommended,
      bearer(await mintToken(published, v2Claims(NOW, { aud: GRAPH.appIdUri }))),
    );
    expectFailure(outcome, "TokenAudienceNotAllowed");
    expect(outcome.ok || outcome.detail).toContain(GRAPH.appIdUri);
    expect(outcome.ok || outcome.detail).toContain(ORDERS_API.appIdUri);
  });

  it("refuses a v1 token against the v2 openid-config issuer", async () => {
    const outcome = await evaluate(recommended, bearer(await mintToken(published, v1Claims(NOW))));
    expectFailure(outcome, "TokenIssuerNotAllowed");
    expect(outcome.ok || outcome.detail).toContain(V1_ISSUER);
  });

  it("accepts the same v1 token against the v1 openid-config", async () => {
    const v1Policy = { ...recommended, openIdConfigUrls: [V1_OPENID_URL] };
    expect((await evaluate(v1Policy, bearer(await mintToken(published, v1Claims(NOW))))).ok).toBe(true);
  });

  it("refuses an expired token, and accepts it within clock-skew", async () => {
    const claims = v2Claims(NOW - 3960_000); // exp = NOW - 60 s
    const token = await mintToken(published, claims);
    expectFailure(await evaluate(recommended, bearer(token)), "TokenExpired");
    expect((await evaluate({ ...recommended, clockSkewSeconds: 120 }, bearer(token))).ok).toBe(true);
    expectFailure(await evaluate({ ...recommended, clockSkewSeconds: 30 }, bearer(token)), "TokenExpired");
  });

  it("refuses a token signed by an unpublished key under the published kid: TokenSignatureInvalid", async () => {
    const token = await mintToken(forger, v2Claims(NOW), { kid: published.kid });
    expectFailure(await evaluate(recommended, bearer(token)), "TokenSignatureInvalid");
  });

  it("refuses a token whose kid is not published: TokenSignatureKeyNotFound", async () => {
    const token = await mintToken(forger, v2Claims(NOW));
    const outcome = await evaluate(recommended, bearer(token));
    expectFailure(outcome, "TokenSignatureKeyNotFound");
    expect(outcome.ok || outcome.detail).toContain("forger-kid");
  });

  it("refuses alg none while require-signed-tokens is true (the default)", async () => {
    expectFailure(await evaluate(recommended, bearer(unsignedToken(v2Claims(NOW)))), "TokenSignatureInvalid");
  });

  it("accepts alg none only when require-signed-tokens is false, and still checks the claims", async () => {
    const lax = { ...recommended, requireSignedTokens: false };
    expect((await evaluate(lax, bearer(unsignedToken(v2Claims(NOW))))).ok).toBe(true);
    expectFailure(await evaluate(lax, bearer(unsignedToken(v1Claims(NOW)))), "TokenIssuerNotAllowed");
  });

  it("refuses a token without the role (absent roles claim): TokenClaimNotFound", async () => {
    const { roles: _roles, ...claims } = v2Claims(NOW, { azp: UNASSIGNED_CLIENT.clientId });
    expectFailure(await evaluate(recommended, bearer(await mintToken(published, claims))), "TokenClaimNotFound");
  });

  it("match any accepts one of the roles; match all needs every one", async () => {
    const token = await mintToken(published, v2Claims(NOW, { roles: [ORDERS_API.role] }));
    const values = [ORDERS_API.role, "Api.Admin"];
    const any = { ...recommended, requiredClaims: [{ name: "roles", match: "any" as const, values }] };
    const all = { ...recommended, requiredClaims: [{ name: "roles", match: "all" as const, values }] };
    expect((await evaluate(any, bearer(token))).ok).toBe(true);
    const outcome = await evaluate(all, bearer(token));
    expectFailure(outcome, "TokenClaimValueNotAllowed");
    expect(outcome.ok || outcome.detail).toContain("Api.Admin");
  });

  it("splits a string claim on the separator", async () => {
    const token = await mintToken(published, v2Claims(NOW, { scp: "Orders.Read Orders.Write" }));
    const policy = {
      ...recommended,
      requiredClaims: [{ name: "scp", match: "all" as const, separator: " ", values: ["Orders.Write"] }],
    };
    expect((await evaluate(policy, bearer(token))).ok).toBe(true);
    expectFailure(
      await evaluate(
        { ...policy, requiredClaims: [{ ...policy.requiredClaims[0]!, separator: undefined }] },
        bearer(token),
      ),
      "TokenClaimValueNotAllowed",
    );
  });

  it("refuses a malformed token: JwtInvalid", async () => {
    expectFailure(await evaluate(recommended, bearer("not-a-jwt")), "JwtInvalid");
  });

  it("refuses a token without exp unless require-expiration-time is false", async () => {
    const { exp: _exp, ...claims } = v2Claims(NOW);
    const token = await mintToken(published, claims);
    expectFailure(await evaluate(recommended, bearer(token)), "JwtInvalid");
    expect((await evaluate({ ...recommended, requireExpirationTime: false }, bearer(token))).ok).toBe(true);
  });

  it("refuses a token that is not yet valid (nbf) unless within clock-skew", async () => {
    const token = await mintToken(published, v2Claims(NOW, { nbf: NOW / 1000 + 60 }));
    expectFailure(await evaluate(recommended, bearer(token)), "JwtInvalid");
    expect((await evaluate({ ...recommended, clockSkewSeconds: 90 }, bearer(token))).ok).toBe(true);
  });
});

describe("evaluateValidateJwt against the aud/azp policy (required-claims aud any, azp any)", () => {
  it("accepts the probe client's v2 token and answers the policy's message otherwise", async () => {
    expect((await evaluate(audAzp, bearer(await mintToken(published, v2Claims(NOW))))).ok).toBe(true);
    const stranger = await mintToken(published, v2Claims(NOW, { azp: UNASSIGNED_CLIENT.clientId }));
    expectFailure(
      await evaluate(audAzp, bearer(stranger)),
      "TokenClaimValueNotAllowed",
      401,
      "Unauthorized. Invalid token.",
    );
    expectFailure(await evaluate(audAzp, {}), "TokenNotPresent", 401, "Unauthorized. Invalid token.");
  });

  it("accepts a token without the scheme when require-scheme is not set", async () => {
    expect((await evaluate(audAzp, { authorization: await mintToken(published, v2Claims(NOW)) })).ok).toBe(true);
  });

  it("refuses a v1 token: its aud is the App ID URI, not the GUID", async () => {
    expectFailure(
      await evaluate(audAzp, bearer(await mintToken(published, v1Claims(NOW)))),
      "TokenIssuerNotAllowed",
      401,
      "Unauthorized. Invalid token.",
    );
  });
});

describe("evaluateValidateJwt: token sources, inline keys, algorithms", () => {
  it("reads the token from a query parameter and ignores require-scheme on a custom header", async () => {
    const token = await mintToken(published, v2Claims(NOW));
    const query = parsePolicy(
      `<validate-jwt query-parameter-name="access_token"><openid-config url="${V2_OPENID_URL}" /></validate-jwt>`,
    ).validateJwt!;
    expect((await evaluate(query, {}, `https://apim.example/orders?access_token=${token}`)).ok).toBe(true);
    expectFailure(await evaluate(query, {}, "https://apim.example/orders"), "TokenNotPresent", 401, "JWT not present.");
    const custom = parsePolicy(
      `<validate-jwt header-name="X-Token" require-scheme="Bearer"><openid-config url="${V2_OPENID_URL}" /></validate-jwt>`,
    ).validateJwt!;
    expect((await evaluate(custom, { "x-token": token })).ok).toBe(true);
  });

  it("verifies with an inline n+e key matched by id, and with an inline symmetric key", async () => {
    const rsa = parsePolicy(
      `<validate-jwt header-name="Authorization" failed-validation-httpcode="403" failed-validation-error-message="Denied">
         <issuer-signing-keys><key id="${published.kid}" n="${published.publicJwk.n}" e="${published.publicJwk.e}" /></issuer-signing-keys>
         <issuers><issuer>https://issuer.example/</issuer></issuers>
       </validate-jwt>`,
    ).validateJwt!;
    const claims = v2Claims(NOW, { iss: "https://issuer.example/" });
    expect((await evaluate(rsa, bearer(await mintToken(published, claims)))).ok).toBe(true);
    // No key's id matches the forger's kid: APIM then tries every key, none verifies.
    expectFailure(await evaluate(rsa, bearer(await mintToken(forger, claims))), "TokenSignatureInvalid", 403, "Denied");
    expectFailure(
      await evaluate(rsa, bearer(await mintToken(published, v2Claims(NOW)))),
      "TokenIssuerNotAllowed",
      403,
      "Denied",
    );

    const secret = new Uint8Array(32).fill(7);
    const hmac = parsePolicy(
      `<validate-jwt header-name="Authorization"><issuer-signing-keys><key>${Buffer.from(secret).toString("base64")}</key></issuer-signing-keys></validate-jwt>`,
    ).validateJwt!;
    const { SignJWT } = await import("jose");
    const hs = await new SignJWT(v2Claims(NOW)).setProtectedHeader({ alg: "HS256" }).sign(secret);
    expect((await evaluate(hmac, bearer(hs))).ok).toBe(true);
    const wrong = await new SignJWT(v2Claims(NOW))
      .setProtectedHeader({ alg: "HS256" })
      .sign(new Uint8Array(32).fill(8));
    expectFailure(await evaluate(hmac, bearer(wrong)), "TokenSignatureInvalid");
  });

  it("accepts RS512 and PS256, refuses ES256 and an HS256 token against RSA keys", async () => {
    const ps = await createSigningKey("ps-kid", "PS256");
    const rs512 = await createSigningKey("rs512-kid", "RS512");
    const policy = parsePolicy(
      `<validate-jwt header-name="Authorization"><issuer-signing-keys>
         <key n="${rs512.publicJwk.n}" e="${rs512.publicJwk.e}" /><key n="${ps.publicJwk.n}" e="${ps.publicJwk.e}" />
       </issuer-signing-keys></validate-jwt>`,
    ).validateJwt!;
    expect((await evaluate(policy, bearer(await mintToken(rs512, v2Claims(NOW), { alg: "RS512" })))).ok).toBe(true);
    expect((await evaluate(policy, bearer(await mintToken(ps, v2Claims(NOW), { alg: "PS256" })))).ok).toBe(true);
    const es = await createSigningKey("es-kid", "ES256");
    expectFailure(
      await evaluate(policy, bearer(await mintToken(es, v2Claims(NOW), { alg: "ES256" }))),
      "TokenSignatureInvalid",
    );
    const { SignJWT } = await import("jose");
    // The classic confusion attack: HMAC keyed with the RSA public key's bytes.
    const confused = await new SignJWT(v2Claims(NOW))
      .setProtectedHeader({ alg: "HS256" })
      .sign(new TextEncoder().encode(rs512.publicJwk.n));
    expectFailure(await evaluate(policy, bearer(confused)), "TokenSignatureInvalid");
  });

  it("reports an unreachable openid-config as TokenSignatureKeyNotFound naming the URL", async () => {
    const policy = parsePolicy(
      `<validate-jwt header-name="Authorization"><openid-config url="https://login.microsoftonline.com/no-such-tenant/v2.0/.well-known/openid-configuration" /></validate-jwt>`,
    ).validateJwt!;
    const outcome = await evaluate(policy, bearer(await mintToken(published, v2Claims(NOW))));
    expectFailure(outcome, "TokenSignatureKeyNotFound");
    expect(outcome.ok || outcome.detail).toContain("APIM_SMOKE_OPENID_CONFIG");
  });

  it("never puts the token in the detail", async () => {
    const token = await mintToken(forger, v2Claims(NOW, { aud: GRAPH.appIdUri }));
    for (const policy of [recommended, audAzp]) {
      const outcome = await evaluate(policy, bearer(token));
      expect(outcome.ok).toBe(false);
      expect(JSON.stringify(outcome)).not.toContain(token.split(".")[2]!);
      expect(JSON.stringify(outcome)).not.toContain(token.split(".")[1]!.slice(0, 40));
    }
  });
});
