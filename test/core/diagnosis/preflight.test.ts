import { exportJWK, generateKeyPair, SignJWT, type JWK } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { diagnose, preflightAgainstPolicy } from "../../../src/core/diagnosis/index.js";
import { summarizeToken } from "../../../src/core/tokens/summary.js";
import { parsePolicy, type SigningKeyResolver } from "../../../src/policy/index.js";
import { ORDERS_API, PROBE_CLIENT, SANDBOX_TENANT_ID } from "../../../src/sandbox/identities.js";

const T = SANDBOX_TENANT_ID;
const V1_ISS = `https://sts.windows.net/${T}/`;
const V2_ISS = `https://login.microsoftonline.com/${T}/v2.0`;
const V2_CONFIG = `https://login.microsoftonline.com/${T}/v2.0/.well-known/openid-configuration`;
const NOW = Date.UTC(2025, 0, 1, 12, 0, 0);

const POLICY = parsePolicy(`<validate-jwt header-name="Authorization" require-scheme="Bearer">
  <openid-config url="${V2_CONFIG}" />
  <audiences><audience>${ORDERS_API.appIdUri}</audience><audience>${ORDERS_API.clientId}</audience></audiences>
  <required-claims><claim name="roles" match="any"><value>${ORDERS_API.role}</value></claim></required-claims>
</validate-jwt>`);

let privateKey: Awaited<ReturnType<typeof generateKeyPair>>["privateKey"];
let resolver: SigningKeyResolver;

beforeAll(async () => {
  const pair = await generateKeyPair("RS256");
  privateKey = pair.privateKey;
  const jwk: JWK = { ...(await exportJWK(pair.publicKey)), kid: "key-1", use: "sig" };
  // The tenant's v2 document as the evaluator sees it; the resolver is the evaluator's own seam.
  resolver = { resolve: (url) => Promise.resolve({ url, issuer: V2_ISS, keys: [jwk] }) };
});

async function token(claims: Record<string, unknown>): Promise<string> {
  return new SignJWT({
    aud: ORDERS_API.clientId,
    iss: V2_ISS,
    ver: "2.0",
    azp: PROBE_CLIENT.clientId,
    roles: [ORDERS_API.role],
    tid: T,
    ...claims,
  })
    .setProtectedHeader({ alg: "RS256", kid: "key-1" })
    .setIssuedAt(NOW / 1000 - 60)
    .setExpirationTime(NOW / 1000 + 3600)
    .sign(privateKey);
}

const deps = () => ({ keys: resolver, now: () => NOW });

describe("preflightAgainstPolicy", () => {
  it("passes a token the policy accepts", async () => {
    expect(await preflightAgainstPolicy(await token({}), POLICY, deps())).toEqual({ ok: true });
  });

  it.each([
    [
      { aud: "api://billing-api" },
      "TokenAudienceNotAllowed",
      "audience-mismatch",
      { expectedAudiences: [ORDERS_API.appIdUri, ORDERS_API.clientId] },
    ],
    [{ iss: V1_ISS, ver: "1.0" }, "TokenIssuerNotAllowed", "issuer-mismatch", { expectedIssuers: [V2_ISS] }],
    [{ roles: undefined }, "TokenClaimNotFound", "missing-role", { claim: "roles", expectedValues: [ORDERS_API.role] }],
    [{ roles: ["Other"] }, "TokenClaimValueNotAllowed", "missing-role", { claim: "roles" }],
  ] as const)("%j fails %s and diagnoses %s", async (claims, reason, cause, fields) => {
    const jwt = await token(claims);
    const preflight = await preflightAgainstPolicy(jwt, POLICY, deps());
    expect(preflight).toMatchObject({ ok: false, reason, ...fields });
    expect(JSON.stringify(preflight)).not.toContain(jwt);
    const diagnosis = diagnose({
      probe: "valid",
      outcome: "fail",
      expectedStatuses: [200],
      actualStatus: 401,
      at: NOW,
      token: summarizeToken(jwt)!,
      ...(preflight ? { preflight } : {}),
    });
    expect(diagnosis).toMatchObject({ cause, evidence: { preflightReason: reason } });
  });

  it("reports a key the tenant does not publish", async () => {
    const jwt = await new SignJWT({ aud: ORDERS_API.clientId, iss: V2_ISS })
      .setProtectedHeader({ alg: "RS256", kid: "rotated-away" })
      .setExpirationTime(NOW / 1000 + 3600)
      .sign(privateKey);
    expect(await preflightAgainstPolicy(jwt, POLICY, deps())).toMatchObject({
      ok: false,
      reason: "TokenSignatureKeyNotFound",
    });
  });

  it("says which scheme the policy wants when it is not Bearer", async () => {
    const policy = parsePolicy(
      `<validate-jwt header-name="Authorization" require-scheme="JWT"><openid-config url="${V2_CONFIG}" /></validate-jwt>`,
    );
    expect(await preflightAgainstPolicy(await token({}), policy, deps())).toMatchObject({
      ok: false,
      reason: "TokenNotPresent",
      requireScheme: "JWT",
    });
  });

  it("has nothing to check without validate-jwt", async () => {
    expect(
      await preflightAgainstPolicy(
        await token({}),
        parsePolicy("<policies><inbound><base /></inbound></policies>"),
        deps(),
      ),
    ).toBeUndefined();
  });
});
