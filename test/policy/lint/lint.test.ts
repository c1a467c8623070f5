import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { PolicyError } from "../../../src/core/errors.js";
import {
  LINT_CODES,
  lintPolicy,
  type LintCode,
  type LintContext,
  type LintSeverity,
} from "../../../src/policy/lint/index.js";
import { ORDERS_API, SANDBOX_TENANT_ID } from "../../../src/sandbox/identities.js";

const FIXTURES = join(import.meta.dirname, "../../fixtures/policies");
const fixture = (name: string) => readFileSync(join(FIXTURES, name), "utf8");

const API_CONTEXT: LintContext = {
  tenantId: SANDBOX_TENANT_ID,
  apiClientId: ORDERS_API.clientId,
  appIdUri: ORDERS_API.appIdUri,
};
const OTHER_TENANT = "11111111-2222-4333-8444-555555555555";

interface Case {
  name: string;
  file: string;
  context?: LintContext;
  /** Exactly these codes with these severities, in any order. */
  expected: Partial<Record<LintCode, LintSeverity>>;
}

const CASES: Case[] = [
  { name: "the recommended policy as written is clean", file: "recommended-entra-jwt.xml", expected: {} },
  {
    name: "the recommended policy with the registration's facts is clean",
    file: "recommended-entra-jwt.xml",
    context: { ...API_CONTEXT, tokenVersion: 2 },
    expected: {},
  },
  {
    name: "the recommended policy against an API that still issues v1 tokens",
    file: "recommended-entra-jwt.xml",
    context: { tokenVersion: 1 },
    expected: { "token-version-mismatch": "error" },
  },
  {
    name: "the recommended policy for another tenant",
    file: "recommended-entra-jwt.xml",
    context: { tenantId: OTHER_TENANT },
    expected: { "tenant-mismatch": "error" },
  },
  {
    // v2 metadata: v2 tokens carry the client ID as aud, so the client ID alone is complete.
    name: "the aud/azp policy: aud via required claim with the client ID only (v2), azp instead of roles, no scheme",
    file: "aud-azp-required-claims.xml",
    expected: { "no-role-claim": "info", "no-require-scheme": "info" },
  },
  {
    name: "the aud/azp policy against v1 tokens: azp is never there",
    file: "aud-azp-required-claims.xml",
    context: { tokenVersion: 1 },
    expected: {
      "no-role-claim": "info",
      "no-require-scheme": "info",
      "token-version-mismatch": "error",
      "client-claim-version": "error",
    },
  },
  {
    name: "no validate-jwt, but <base />: inherited, maybe",
    file: "broken/no-validate-jwt.xml",
    expected: { "validation-inherited": "info" },
  },
  {
    name: "no validate-jwt and no <base />",
    file: "broken/no-validation-no-base.xml",
    expected: { "no-validate-jwt": "error" },
  },
  {
    name: "unsigned tokens allowed",
    file: "broken/unsigned-tokens-allowed.xml",
    expected: { "unsigned-tokens-allowed": "error" },
  },
  {
    name: "expiration not required",
    file: "broken/expiration-not-required.xml",
    expected: { "expiration-not-required": "error" },
  },
  { name: "clock-skew 900 s", file: "broken/large-clock-skew.xml", expected: { "large-clock-skew": "warning" } },
  // Info: the token is still validated in full.
  { name: "no require-scheme", file: "broken/no-require-scheme.xml", expected: { "no-require-scheme": "info" } },
  {
    name: "v1 openid-config with v2 issuers",
    file: "broken/v1-openid-config-v2-issuers.xml",
    expected: { "openid-config-issuer-mismatch": "error" },
  },
  {
    name: "client ID only with v2 metadata: complete for v2 tokens",
    file: "broken/client-id-only-audience.xml",
    expected: {},
  },
  {
    name: "client ID only, but the registration's App ID URI is known and the tokens may be v1",
    file: "broken/client-id-only-audience.xml",
    context: { appIdUri: ORDERS_API.appIdUri, apiClientId: ORDERS_API.clientId, tokenVersion: 1 },
    expected: { "audience-incomplete": "warning", "token-version-mismatch": "error" },
  },
  {
    name: "App ID URI only with v2 tokens: every token refused",
    file: "broken/app-id-uri-only-audience.xml",
    context: { ...API_CONTEXT, tokenVersion: 2 },
    expected: { "audience-incomplete": "error" },
  },
  // The required role narrows the callers (a token for another resource carries that resource's roles): a warning.
  {
    name: "no audiences, roles required",
    file: "broken/no-audiences.xml",
    expected: { "no-audience-check": "warning" },
  },
  { name: "no role claim", file: "broken/no-role-claim.xml", expected: { "no-role-claim": "warning" } },
];

describe("lintPolicy", () => {
  it.each(CASES)("$name", ({ file, context, expected }) => {
    const findings = lintPolicy(fixture(file), context);
    expect(Object.fromEntries(findings.map((f) => [f.code, f.severity]))).toEqual(expected);
    expect(new Set(findings.map((f) => f.code)).size).toBe(findings.length);
    for (const finding of findings) {
      expect(LINT_CODES).toContain(finding.code);
      expect(finding.element).toMatch(/^(validate-jwt|policies)/);
      expect(finding.fix.length).toBeGreaterThan(0);
    }
  });

  it("names the attribute at fault", () => {
    const [finding] = lintPolicy(fixture("broken/large-clock-skew.xml"));
    expect(finding).toMatchObject({ code: "large-clock-skew", element: "validate-jwt/@clock-skew" });
  });

  it("accepts clock-skew of exactly 300 s and flags 301 s", () => {
    const policy = (skew: number) =>
      fixture("recommended-entra-jwt.xml").replace(
        'require-scheme="Bearer"',
        `require-scheme="Bearer" clock-skew="${skew}"`,
      );
    expect(lintPolicy(policy(300))).toEqual([]);
    expect(lintPolicy(policy(301)).map((f) => f.code)).toEqual(["large-clock-skew"]);
  });

  it("flags a policy with no key to verify tokens with", () => {
    const xml = `<validate-jwt header-name="Authorization" require-scheme="Bearer"><audiences><audience>${ORDERS_API.clientId}</audience><audience>${ORDERS_API.appIdUri}</audience></audiences><required-claims><claim name="roles"><value>${ORDERS_API.role}</value></claim></required-claims></validate-jwt>`;
    expect(lintPolicy(xml).map((f) => [f.code, f.severity])).toEqual([
      ["no-signing-keys", "error"],
      ["no-issuer-check", "info"],
    ]);
  });

  it("flags a token read from the query string", () => {
    const xml = fixture("recommended-entra-jwt.xml")
      .replace('header-name="Authorization"', 'query-parameter-name="access_token"')
      .replace(' require-scheme="Bearer"', "");
    expect(lintPolicy(xml).map((f) => f.code)).toEqual(["token-in-query"]);
  });

  it("reads a misspelt element and says it was ignored, rather than refusing the document", () => {
    const findings = lintPolicy(fixture("broken/unknown-element.xml"));
    expect(findings.find((f) => f.code === "not-evaluable-offline")).toMatchObject({
      element: "validate-jwt/audience",
      line: 2,
    });
    expect(findings.map((f) => f.code)).toContain("no-audience-check");
  });

  it.each([
    ["broken/malformed.xml", "xml"],
    ["broken/not-a-policy.xml", "configuration"],
  ])("refuses %s with a PolicyError naming %s", (file, element) => {
    let thrown: unknown;
    try {
      lintPolicy(fixture(file));
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(PolicyError);
    expect((thrown as PolicyError).element).toBe(element);
  });
});

describe("signing keys pinned in the policy", () => {
  it("warns: Entra's key rollover will break them", () => {
    const xml = `<validate-jwt header-name="Authorization" require-scheme="Bearer">
  <openid-config url="https://login.microsoftonline.com/${SANDBOX_TENANT_ID}/v2.0/.well-known/openid-configuration" />
  <issuer-signing-keys><key id="k1" n="sXch6nQw0ONpr6kzqWz3uJ4FQH4ns0hHsBVmRDe3Ukjk" e="AQAB" /></issuer-signing-keys>
  <audiences><audience>api://orders-api</audience></audiences>
</validate-jwt>`;
    expect(lintPolicy(xml).find((f) => f.code === "signing-keys-pinned")).toMatchObject({
      severity: "warning",
      element: "validate-jwt/issuer-signing-keys",
    });
  });
});
