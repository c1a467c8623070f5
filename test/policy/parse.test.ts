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
      element: "validate-jwt",
      notEvaluable: [],
      unresolvedInputs: [],
      line: 1,
      conditions: [],
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
    expect(parsePolicy("<policies><inbound><base /></inbound><backend><base /></backend></policies>")).toMatchObject({
      tokenChecks: [],
      inheritsInbound: true,
    });
    expect(parsePolicy("<policies />").validateJwt).toBeUndefined();
  });

  it("substitutes named values, reports undefined ones, and refuses them only when asked to (the sandbox gateway)", () => {
    const xml = jwt(AUTH, "<issuer-signing-keys><key>{{jwt-signing-key}}</key></issuer-signing-keys>");
    const { validateJwt } = parsePolicy(xml, { namedValues: { "jwt-signing-key": "c2VjcmV0" } });
    expect(validateJwt?.issuerSigningKeys[0]).toMatchObject({ kind: "symmetric" });
    expect(parsePolicy(xml).unresolvedNamedValues).toEqual(["jwt-signing-key"]);
    expect(() => parsePolicy(xml, { requireNamedValues: true })).toThrow(
      /named value \{\{jwt-signing-key\}\} has no value/,
    );
  });

  it("loads the recommended policy as written", () => {
    const { validateJwt } = parsePolicy(fixture("recommended-entra-jwt.xml"));
    expect(validateJwt).toMatchObject({
      tokenSource: { kind: "header", name: "Authorization" },
      requireScheme: "Bearer",
      failedValidationHttpCode: 401,
      openIdConfigUrls: [
        `https://login.microsoftonline.com/${SANDBOX_TENANT_ID}/v2.0/.well-known/openid-configuration`,
      ],
      audiences: [ORDERS_API.appIdUri, ORDERS_API.clientId],
      requiredClaims: [{ name: "roles", match: "any", values: [ORDERS_API.role] }],
    });
    expect(validateJwt?.failedValidationErrorMessage).toBeUndefined();
  });

  it("loads the aud/azp policy", () => {
    const { validateJwt } = parsePolicy(fixture("aud-azp-required-claims.xml"));
    expect(validateJwt).toMatchObject({
      failedValidationHttpCode: 401,
      failedValidationErrorMessage: "Unauthorized. Invalid token.",
      openIdConfigUrls: [
        `https://login.microsoftonline.com/${SANDBOX_TENANT_ID}/v2.0/.well-known/openid-configuration`,
      ],
      requiredClaims: [
        { name: "aud", match: "any", values: [ORDERS_API.clientId] },
        { name: "azp", match: "any", values: [PROBE_CLIENT.clientId] },
      ],
    });
    expect(validateJwt?.audiences).toBeUndefined();
  });
});

describe("parsePolicy: only what is not a policy document is refused, naming the element", () => {
  const cases: { name: string; xml: string; element: string }[] = [
    { name: "malformed XML", xml: "<validate-jwt><audiences></validate-jwt>", element: "xml" },
    { name: "unknown root", xml: "<policy />", element: "policy" },
    { name: "no token source", xml: jwt('clock-skew="0"'), element: "validate-jwt" },
    {
      name: "header-name and query-parameter-name",
      xml: jwt('header-name="Authorization" query-parameter-name="t"'),
      element: "validate-jwt/@query-parameter-name",
    },
    {
      name: "non-numeric httpcode",
      xml: jwt(`${AUTH} failed-validation-httpcode="unauthorized"`),
      element: "validate-jwt/@failed-validation-httpcode",
    },
    {
      name: "out-of-range httpcode",
      xml: jwt(`${AUTH} failed-validation-httpcode="99"`),
      element: "validate-jwt/@failed-validation-httpcode",
    },
    { name: "non-numeric clock-skew", xml: jwt(`${AUTH} clock-skew="5m"`), element: "validate-jwt/@clock-skew" },
    { name: "negative clock-skew", xml: jwt(`${AUTH} clock-skew="-5"`), element: "validate-jwt/@clock-skew" },
    {
      name: "non-boolean flag",
      xml: jwt(`${AUTH} require-signed-tokens="yes"`),
      element: "validate-jwt/@require-signed-tokens",
    },
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
      name: "openid-config over http",
      xml: jwt(AUTH, '<openid-config url="http://a.example/x" />'),
      element: "validate-jwt/openid-config/@url",
    },
    {
      name: "openid-config without url",
      xml: jwt(AUTH, "<openid-config />"),
      element: "validate-jwt/openid-config/@url",
    },
    {
      name: "key that is not base64",
      xml: jwt(AUTH, "<issuer-signing-keys><key>not base64!</key></issuer-signing-keys>"),
      element: "validate-jwt/issuer-signing-keys/key",
    },
    // An empty tenant-id names no tenant: the metadata URLs would read https://login.microsoftonline.com//...
    {
      name: "empty tenant-id",
      xml: '<validate-azure-ad-token tenant-id=""><client-application-ids><application-id>a</application-id></client-application-ids></validate-azure-ad-token>',
      element: "validate-azure-ad-token/@tenant-id",
    },
    {
      name: "blank tenant-id",
      xml: '<validate-azure-ad-token tenant-id="  "><client-application-ids><application-id>a</application-id></client-application-ids></validate-azure-ad-token>',
      element: "validate-azure-ad-token/@tenant-id",
    },
  ];

  it.each(cases)("$name -> $element", ({ xml, element }) => {
    const error = policyError(xml);
    expect(error.code).toBe("APIM_SMOKE_POLICY");
    expect(error.element).toBe(element);
  });

  it("a document cut short names the elements left open, not the XML validator's internals", () => {
    const error = policyError("<policies>\n  <inbound>\n    <base />\n");
    expect(error.problem).toBe("malformed XML: the document ends before <policies>, <inbound> are closed");
  });
});

describe("parsePolicy: what APIM stores and exports is read, and what cannot be judged offline is noted", () => {
  const cases: { name: string; xml: string; noted: string }[] = [
    { name: "unknown attribute", xml: jwt(`${AUTH} require-audience="x"`), noted: "validate-jwt/@require-audience" },
    { name: "unknown child", xml: jwt(AUTH, "<audience>x</audience>"), noted: "validate-jwt/audience" },
    { name: "empty audiences", xml: jwt(AUTH, "<audiences/>"), noted: "validate-jwt/audiences" },
    { name: "empty issuers", xml: jwt(AUTH, "<issuers></issuers>"), noted: "validate-jwt/issuers" },
    {
      name: "unknown child of audiences",
      xml: jwt(AUTH, "<audiences><aud>x</aud><audience>y</audience></audiences>"),
      noted: "validate-jwt/audiences/aud",
    },
    {
      name: "attribute on audience",
      xml: jwt(AUTH, '<audiences><audience lang="en">x</audience></audiences>'),
      noted: "validate-jwt/audiences/audience/@lang",
    },
    {
      name: "unknown child of claim",
      xml: jwt(AUTH, '<required-claims><claim name="r"><val>a</val></claim></required-claims>'),
      noted: "validate-jwt/required-claims/claim[@name=r]/val",
    },
    {
      name: "unknown attribute on claim",
      xml: jwt(AUTH, '<required-claims><claim name="r" matches="any" /></required-claims>'),
      noted: "validate-jwt/required-claims/claim/@matches",
    },
    {
      name: "certificate-id key",
      xml: jwt(AUTH, '<issuer-signing-keys><key certificate-id="my-cert" /></issuer-signing-keys>'),
      noted: "validate-jwt/issuer-signing-keys/key[@certificate-id=my-cert]",
    },
    {
      name: "n without e",
      xml: jwt(AUTH, '<issuer-signing-keys><key n="AQAB" /></issuer-signing-keys>'),
      noted: "validate-jwt/issuer-signing-keys/key/@e",
    },
    {
      name: "decryption-keys",
      xml: jwt(AUTH, "<decryption-keys><key>c2VjcmV0</key></decryption-keys>"),
      noted: "validate-jwt/decryption-keys",
    },
    {
      name: "policy expression in an audience",
      xml: jwt(
        AUTH,
        "<audiences><audience>@(context.Request.OriginalUrl.Host)</audience><audience>api://a</audience></audiences>",
      ),
      noted: "validate-jwt/audiences/audience",
    },
    {
      name: "named value without a value",
      xml: jwt(AUTH, "<audiences><audience>{{api-audience}}</audience></audiences>"),
      noted: "validate-jwt/audiences/audience",
    },
  ];

  it.each(cases)("$name: read, $noted noted", ({ xml, noted }) => {
    const policy = parsePolicy(xml);
    expect(policy.validateJwt).toBeDefined();
    expect(
      policy.validateJwt!.notEvaluable.some((n) => n.startsWith(`${noted}:`)),
      JSON.stringify(policy.validateJwt!.notEvaluable),
    ).toBe(true);
  });

  it("keeps a literal audience next to an expression one", () => {
    const policy = parsePolicy(
      jwt(
        AUTH,
        "<audiences><audience>@(context.Request.OriginalUrl.Host)</audience><audience>api://a</audience></audiences>",
      ),
    );
    expect(policy.validateJwt!.audiences).toEqual(["api://a"]);
  });

  it("reads several validate-jwt, in order, all of them applied", () => {
    const policy = parsePolicy(
      `<policies><inbound>${jwt(AUTH, "<audiences><audience>a</audience></audiences>")}${jwt(AUTH, "<audiences><audience>b</audience></audiences>")}</inbound></policies>`,
    );
    expect(policy.tokenChecks.map((c) => c.audiences)).toEqual([["a"], ["b"]]);
  });

  it("merges repeated <audiences>", () => {
    expect(
      parsePolicy(
        jwt(AUTH, "<audiences><audience>a</audience></audiences><audiences><audience>b</audience></audiences>"),
      ).validateJwt!.audiences,
    ).toEqual(["a", "b"]);
  });
});
