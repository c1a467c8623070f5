import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { PolicyError } from "../../src/core/errors.js";
import { parsePolicy } from "../../src/policy/index.js";
import { ORDERS_API, PROBE_CLIENT, SANDBOX_TENANT_ID } from "../../src/sandbox/identities.js";

const fixture = (name: string) => readFileSync(new URL(`../fixtures/policies/${name}`, import.meta.url), "utf8");

const jwt = (attributes: string, children = "") => `<validate-jwt ${attributes}>${children}</validate-jwt>`;
const AUTH = 'header-name="Authorization"';

function policyError(xml: string): PolicyError {
  try {
    parsePolicy(xml);
  } catch (error) {
    expect(error).toBeInstanceOf(PolicyError);
    return error as PolicyError;
  }
  throw new Error("expected a PolicyError");
}

describe("parsePolicy: valid documents", () => {
  it("applies the documented defaults to a bare validate-jwt", () => {
    const { validateJwt } = parsePolicy(jwt(AUTH));
    expect(validateJwt).toEqual({
      tokenSource: { kind: "header", name: "Authorization" },
      failedValidationHttpCode: 401,
      requireExpirationTime: true,
      requireSignedTokens: true,
      clockSkewSeconds: 0,
      openIdConfigUrls: [],
      issuerSigningKeys: [],
      requiredClaims: [],
    });
  });

  it("reads every supported attribute", () => {
    const { validateJwt } = parsePolicy(
      jwt(
        'query-parameter-name="access_token" require-scheme="Bearer" failed-validation-httpcode="403" ' +
          'failed-validation-error-message="Nope &amp; no." require-expiration-time="FALSE" ' +
          'require-signed-tokens="false" clock-skew="300" output-token-variable-name="jwt"',
      ),
    );
    expect(validateJwt).toMatchObject({
      tokenSource: { kind: "query", name: "access_token" },
      requireScheme: "Bearer",
      failedValidationHttpCode: 403,
      failedValidationErrorMessage: "Nope & no.",
      requireExpirationTime: false,
      requireSignedTokens: false,
      clockSkewSeconds: 300,
      outputTokenVariableName: "jwt",
    });
  });

  it("reads token-value, keys, audiences, issuers and required claims", () => {
    const { validateJwt } = parsePolicy(
      jwt(
        'token-value="abc.def.ghi"',
        `<openid-config url="https://a.example/.well-known/openid-configuration" />
         <openid-config url="https://b.example/.well-known/openid-configuration" />
         <issuer-signing-keys><key id="k1">c2VjcmV0</key><key n="AQAB" e="AQAB" /></issuer-signing-keys>
         <audiences><audience>api://x</audience><audience>y</audience></audiences>
         <issuers><issuer>https://i.example/</issuer></issuers>
         <required-claims>
           <claim name="roles" match="any"><value>A</value><value>B</value></claim>
           <claim name="scp" separator=" "><value>read</value></claim>
           <claim name="tid" />
         </required-claims>`,
      ),
    );
    expect(validateJwt?.tokenSource).toEqual({ kind: "value", value: "abc.def.ghi" });
    expect(validateJwt?.openIdConfigUrls).toEqual([
      "https://a.example/.well-known/openid-configuration",
      "https://b.example/.well-known/openid-configuration",
    ]);
    expect(validateJwt?.issuerSigningKeys).toEqual([
      { kind: "symmetric", id: "k1", secret: new Uint8Array(Buffer.from("secret")) },
      { kind: "rsa", n: "AQAB", e: "AQAB" },
    ]);
    expect(validateJwt?.audiences).toEqual(["api://x", "y"]);
    expect(validateJwt?.issuers).toEqual(["https://i.example/"]);
    expect(validateJwt?.requiredClaims).toEqual([
      { name: "roles", match: "any", values: ["A", "B"] },
      { name: "scp", match: "all", separator: " ", values: ["read"] },
      { name: "tid", match: "all", values: [] },
    ]);
  });

  it("finds validate-jwt in a whole policies document and ignores the other policies", () => {
    const { validateJwt } = parsePolicy(`<?xml version="1.0"?>
      <policies>
        <inbound>
          <base />
          <cors><allowed-origins><origin>*</origin></allowed-origins></cors>
          <set-backend-service base-url="https://backend.example" />
          ${jwt(AUTH, "<audiences><audience>a</audience></audiences>")}
          <rate-limit calls="5" renewal-period="60" />
        </inbound>
        <backend><forward-request /></backend>
        <outbound><base /></outbound>
        <on-error><base /></on-error>
      </policies>`);
    expect(validateJwt?.audiences).toEqual(["a"]);
  });

  it("returns an open policy when there is no validate-jwt", () => {
    expect(parsePolicy("<policies><inbound><base /></inbound><backend><base /></backend></policies>")).toEqual({});
    expect(parsePolicy("<policies />")).toEqual({});
  });

  it("substitutes named values and refuses undefined ones", () => {
    const xml = jwt(AUTH, "<issuer-signing-keys><key>{{jwt-signing-key}}</key></issuer-signing-keys>");
    const { validateJwt } = parsePolicy(xml, { namedValues: { "jwt-signing-key": "c2VjcmV0" } });
    expect(validateJwt?.issuerSigningKeys[0]).toMatchObject({ kind: "symmetric" });
    expect(policyError(xml).element).toBe("validate-jwt/issuer-signing-keys/key");
  });

  it("loads seed 003 as written", () => {
    const { validateJwt } = parsePolicy(fixture("seed-003-entra-jwt.xml"));
    expect(validateJwt).toMatchObject({
      tokenSource: { kind: "header", name: "Authorization" },
      requireScheme: "Bearer",
      failedValidationHttpCode: 401,
      openIdConfigUrls: [`https://login.microsoftonline.com/${SANDBOX_TENANT_ID}/v2.0/.well-known/openid-configuration`],
      audiences: [ORDERS_API.appIdUri, ORDERS_API.clientId],
      requiredClaims: [{ name: "roles", match: "any", values: [ORDERS_API.role] }],
    });
    expect(validateJwt?.failedValidationErrorMessage).toBeUndefined();
  });

  it("loads seed 002 (reconstructed)", () => {
    const { validateJwt } = parsePolicy(fixture("seed-002-aud-azp.xml"));
    expect(validateJwt).toMatchObject({
      failedValidationHttpCode: 401,
      failedValidationErrorMessage: "Unauthorized. Invalid token.",
      openIdConfigUrls: [`https://login.microsoftonline.com/${SANDBOX_TENANT_ID}/v2.0/.well-known/openid-configuration`],
      requiredClaims: [
        { name: "aud", match: "any", values: [ORDERS_API.clientId] },
        { name: "azp", match: "any", values: [PROBE_CLIENT.clientId] },
      ],
    });
    expect(validateJwt?.audiences).toBeUndefined();
  });
});

describe("parsePolicy: refusals name the element", () => {
  const cases: { name: string; xml: string; element: string }[] = [
    { name: "malformed XML", xml: "<validate-jwt><audiences></validate-jwt>", element: "xml" },
    { name: "unknown root", xml: "<policy />", element: "policy" },
    { name: "no token source", xml: jwt('clock-skew="0"'), element: "validate-jwt" },
    {
      name: "header-name and query-parameter-name",
      xml: jwt('header-name="Authorization" query-parameter-name="t"'),
      element: "validate-jwt/@query-parameter-name",
    },
    { name: "unknown attribute", xml: jwt(`${AUTH} require-audience="x"`), element: "validate-jwt/@require-audience" },
    { name: "unknown child", xml: jwt(AUTH, "<audience>x</audience>"), element: "validate-jwt/audience" },
    { name: "empty audiences", xml: jwt(AUTH, "<audiences/>"), element: "validate-jwt/audiences" },
    { name: "empty issuers", xml: jwt(AUTH, "<issuers></issuers>"), element: "validate-jwt/issuers" },
    {
      name: "unknown child of audiences",
      xml: jwt(AUTH, "<audiences><aud>x</aud></audiences>"),
      element: "validate-jwt/audiences/aud",
    },
    {
      name: "attribute on audience",
      xml: jwt(AUTH, '<audiences><audience lang="en">x</audience></audiences>'),
      element: "validate-jwt/audiences/audience/@lang",
    },
    {
      name: "non-numeric httpcode",
      xml: jwt(`${AUTH} failed-validation-httpcode="unauthorized"`),
      element: "validate-jwt/@failed-validation-httpcode",
    },
    { name: "out-of-range httpcode", xml: jwt(`${AUTH} failed-validation-httpcode="99"`), element: "validate-jwt/@failed-validation-httpcode" },
    { name: "non-numeric clock-skew", xml: jwt(`${AUTH} clock-skew="5m"`), element: "validate-jwt/@clock-skew" },
    { name: "negative clock-skew", xml: jwt(`${AUTH} clock-skew="-5"`), element: "validate-jwt/@clock-skew" },
    { name: "non-boolean flag", xml: jwt(`${AUTH} require-signed-tokens="yes"`), element: "validate-jwt/@require-signed-tokens" },
    {
      name: "match neither all nor any",
      xml: jwt(AUTH, '<required-claims><claim name="roles" match="some"><value>a</value></claim></required-claims>'),
      element: "validate-jwt/required-claims/claim[@name=roles]/@match",
    },
    {
      name: "claim without name",
      xml: jwt(AUTH, "<required-claims><claim><value>a</value></claim></required-claims>"),
      element: "validate-jwt/required-claims/claim/@name",
    },
    {
      name: "unknown child of claim",
      xml: jwt(AUTH, '<required-claims><claim name="r"><val>a</val></claim></required-claims>'),
      element: "validate-jwt/required-claims/claim[@name=r]/val",
    },
    {
      name: "unknown attribute on claim",
      xml: jwt(AUTH, '<required-claims><claim name="r" matches="any" /></required-claims>'),
      element: "validate-jwt/required-claims/claim/@matches",
    },
    { name: "openid-config over http", xml: jwt(AUTH, '<openid-config url="http://a.example/x" />'), element: "validate-jwt/openid-config/@url" },
    { name: "openid-config without url", xml: jwt(AUTH, "<openid-config />"), element: "validate-jwt/openid-config/@url" },
    {
      name: "certificate-id key",
      xml: jwt(AUTH, '<issuer-signing-keys><key certificate-id="my-cert" /></issuer-signing-keys>'),
      element: "validate-jwt/issuer-signing-keys/key/@certificate-id",
    },
    {
      name: "n without e",
      xml: jwt(AUTH, '<issuer-signing-keys><key n="AQAB" /></issuer-signing-keys>'),
      element: "validate-jwt/issuer-signing-keys/key/@e",
    },
    {
      name: "key that is not base64",
      xml: jwt(AUTH, "<issuer-signing-keys><key>not base64!</key></issuer-signing-keys>"),
      element: "validate-jwt/issuer-signing-keys/key",
    },
    { name: "decryption-keys", xml: jwt(AUTH, "<decryption-keys><key>c2VjcmV0</key></decryption-keys>"), element: "validate-jwt/decryption-keys" },
    { name: "repeated audiences", xml: jwt(AUTH, "<audiences><audience>a</audience></audiences><audiences><audience>b</audience></audiences>"), element: "validate-jwt/audiences" },
    {
      name: "policy expression",
      xml: jwt(AUTH, "<audiences><audience>@(context.Request.OriginalUrl.Host)</audience></audiences>"),
      element: "validate-jwt/audiences/audience",
    },
    {
      name: "validate-azure-ad-token (would be silently open)",
      xml: '<policies><inbound><validate-azure-ad-token tenant-id="t" /></inbound></policies>',
      element: "inbound/validate-azure-ad-token",
    },
    {
      name: "two validate-jwt",
      xml: `<policies><inbound>${jwt(AUTH)}${jwt(AUTH)}</inbound></policies>`,
      element: "inbound/validate-jwt",
    },
  ];

  it.each(cases)("$name -> $element", ({ xml, element }) => {
    const error = policyError(xml);
    expect(error.code).toBe("ERR_POLICY");
    expect(error.element).toBe(element);
  });
});
