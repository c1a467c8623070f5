import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  composeEffectivePolicy,
  parsePolicy,
  validatesOnEveryPath,
  type ScopedPolicy,
} from "../../../src/policy/index.js";
import {
  lintParsedPolicy,
  lintPolicy,
  type LintCode,
  type LintContext,
  type LintFinding,
  type LintSeverity,
} from "../../../src/policy/lint/index.js";
import { ORDERS_API, SANDBOX_TENANT_ID } from "../../../src/sandbox/identities.js";

// Documents in the styles found in Microsoft's reference pages, the snippets and APIOps repositories,
// the AI gateway labs and production estates (written here, not copied): named values, expressions,
// other issuers, first-party audiences. Every error and warning must be one a senior APIM engineer signs.

const FIXTURES = join(import.meta.dirname, "../../fixtures/policies/judged");
const fixture = (name: string) => readFileSync(join(FIXTURES, name), "utf8");
const loud = (findings: LintFinding[]) =>
  Object.fromEntries(findings.filter((f) => f.severity !== "info").map((f) => [f.code, f.severity]));

interface Case {
  name: string;
  file: string;
  namedValues?: Record<string, string>;
  context?: LintContext;
  /** Exactly these error and warning findings. */
  expected: Partial<Record<LintCode, LintSeverity>>;
  /** Info findings that must be there too. */
  info?: LintCode[];
  /** A variant of the document. */
  xml?: (xml: string) => string;
}

const NAMED = {
  "tenant-id": SANDBOX_TENANT_ID,
  "api-client-id": ORDERS_API.clientId,
  "api-app-id-uri": ORDERS_API.appIdUri,
  "api-role": ORDERS_API.role,
};

const CASES: Case[] = [
  {
    name: "Microsoft's reference example pasted with its {placeholders}: an error at each, never read as values",
    file: "docs-placeholders-left.xml",
    expected: { "placeholder-left": "error", "audience-incomplete": "warning", "no-role-claim": "warning" },
  },
  {
    name: "Entra form with every input a named value: not judged, never an error",
    file: "entra-named-values.xml",
    expected: {},
    info: ["not-judged", "unresolved-named-value"],
  },
  {
    name: "the same, named values given: judged and clean",
    file: "entra-named-values.xml",
    namedValues: NAMED,
    expected: {},
  },
  {
    name: "the same against a registration that issues v1 tokens: judged",
    file: "entra-named-values.xml",
    namedValues: NAMED,
    context: { tokenVersion: 1, tenantId: SANDBOX_TENANT_ID },
    expected: { "token-version-mismatch": "error" },
  },
  {
    name: "shared secret in a named value, audience as an expression: not judged",
    file: "shared-secret-expression-audience.xml",
    expected: {},
    info: ["not-judged"],
  },
  {
    name: "another token service: no Entra rule (no roles, no client ID, pinned keys are its own)",
    file: "other-token-service.xml",
    expected: {},
  },
  { name: "B2C user flow: no Entra rule", file: "b2c-user-flow.xml", expected: {} },
  {
    name: "validate-azure-ad-token for ARM tokens, no client restriction",
    file: "aad-token-arm-audience.xml",
    expected: { "client-application-ids-missing": "warning" },
  },
  {
    name: "validate-jwt for ARM tokens of the tenant, no caller restriction",
    file: "jwt-arm-audience.xml",
    expected: { "first-party-audience": "warning" },
  },
  {
    name: "validate-jwt for ARM tokens, the caller pinned by azp: fine",
    file: "jwt-arm-audience.xml",
    namedValues: {},
    expected: {},
    xml: (x: string) =>
      x.replace(
        "</audiences>",
        '</audiences><required-claims><claim name="azp"><value>c2a8e5f1-7b39-4d06-8e4a-1f5c9b3d7a62</value></claim></required-claims>',
      ),
  },
  {
    name: "validate-azure-ad-token for the API's own app, no client ids: the role is what is missing",
    file: "aad-token-own-app.xml",
    expected: { "no-role-claim": "warning" },
  },
  {
    name: "validate-azure-ad-token minimal form with named values: the caller is pinned, only the audience is open",
    file: "aad-token-named-client.xml",
    expected: { "no-audience-check": "warning" },
    info: ["not-judged"],
  },
  {
    name: "common metadata, Microsoft resource audience, no tenant pinned: any tenant",
    file: "common-metadata-first-party.xml",
    expected: { "any-tenant-accepted": "error" },
  },
  {
    name: "no roles, but a <choose> refuses every caller but one (azp)",
    file: "entra-azp-in-choose.xml",
    expected: {},
    info: ["no-role-claim"],
  },
  { name: "every <choose> branch validates: not conditional", file: "choose-every-branch-validates.xml", expected: {} },
  {
    name: "the branch without validation answers 401: not conditional",
    file: "choose-refuses-otherwise.xml",
    expected: {},
  },
  {
    name: "a method literal with a stray space, an assignment for a comparison",
    file: "choose-stray-space.xml",
    expected: { "invalid-condition": "warning" },
  },
  {
    name: "a metadata document the gateway answers itself (C# comment with an apostrophe in its body): nothing exposed",
    file: "metadata-return-response.xml",
    expected: {},
    info: ["no-validate-jwt"],
  },
  {
    name: "no section says <base />: may be the global policy, a warning (--apiops decides)",
    file: "../exported/14-global-ip-filter-rate-limit.xml",
    expected: { "no-validate-jwt": "warning" },
  },
  {
    name: "v1 metadata, v2 issuer, through named values: not judged",
    file: "v1-metadata-v2-issuer-named.xml",
    expected: {},
    info: ["not-judged"],
  },
  {
    name: "v1 metadata, v2 issuer, named values resolved: error",
    file: "v1-metadata-v2-issuer-named.xml",
    namedValues: { TenantId: SANDBOX_TENANT_ID, ApiClientId: ORDERS_API.clientId },
    expected: { "openid-config-issuer-mismatch": "error" },
  },
];

describe("policy check on documents as they are written", () => {
  it.each(CASES)("$name", ({ file, namedValues, context, expected, info, xml }) => {
    const findings = lintPolicy(
      (xml ?? ((x: string) => x))(fixture(file)),
      context,
      namedValues ? { namedValues } : {},
    );
    expect(loud(findings)).toEqual(expected);
    for (const code of info ?? []) expect(findings.map((f) => f.code)).toContain(code);
  });

  it("says once what would resolve the rules it could not judge", () => {
    const findings = lintPolicy(fixture("entra-named-values.xml"));
    const notJudged = findings.filter((f) => f.code === "not-judged");
    expect(notJudged).toHaveLength(1);
    expect(notJudged[0]!.message).toMatch(
      /^not judged: no-signing-keys, no-issuer-check, no-audience-check, no-role-claim;/,
    );
    expect(notJudged[0]!.message).toContain("{{api-client-id}}");
    expect(notJudged[0]!.fix).toMatch(/--named-value NAME=VALUE, --named-values FILE, or --apiops DIR/);
    expect(findings.filter((f) => f.code === "not-evaluable-offline")).toEqual([]);
  });

  it("an expression is judged by the live calls, and the finding says so", () => {
    const [finding] = lintPolicy(fixture("shared-secret-expression-audience.xml")).filter(
      (f) => f.code === "not-judged",
    );
    expect(finding!.fix).toMatch(/only by APIM at run time/);
    expect(finding!.message).toMatch(/no-audience-check/);
  });

  it("each Entra finding names the premise it rests on", () => {
    const [role] = lintPolicy(fixture("aad-token-own-app.xml"));
    expect(role!.premise).toMatch(/validate-azure-ad-token.*app registration's/);
    const [tenant] = lintPolicy(fixture("common-metadata-first-party.xml")).filter(
      (f) => f.code === "any-tenant-accepted",
    );
    expect(tenant!.premise).toContain("https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration");
    expect(tenant!.message).toContain("https://cognitiveservices.azure.com");
  });

  it("pinning the tenant (<issuers>) clears any-tenant-accepted; the tenant's own users remain", () => {
    const xml = fixture("common-metadata-first-party.xml").replace(
      "</audiences>",
      `</audiences><issuers><issuer>https://login.microsoftonline.com/${SANDBOX_TENANT_ID}/v2.0</issuer></issuers>`,
    );
    expect(loud(lintPolicy(xml))).toEqual({ "first-party-audience": "warning" });
  });

  it("the condition finding names its line and what is wrong", () => {
    const findings = lintPolicy(fixture("choose-stray-space.xml")).filter((f) => f.code === "invalid-condition");
    expect(findings.map((f) => f.line)).toEqual([10, 17]);
    expect(findings[0]!.message).toMatch(/"POST ".*stray space.*never true/);
    expect(findings[1]!.message).toMatch(/= assigns; a comparison is ==/);
  });

  it("a validate-jwt whose only branch lets the rest through unchecked is still conditional", () => {
    const xml = fixture("choose-refuses-otherwise.xml").replace(
      '<set-status code="401" reason="Unauthorized" />',
      '<set-status code="200" reason="OK" />',
    );
    expect(loud(lintPolicy(xml))).toEqual({ "conditional-token-validation": "warning" });
  });
});

describe("policy check on the effective policy: a scope without <base />", () => {
  const scopes = (api: string): ScopedPolicy[] => [
    { scope: "global", file: "policy.xml", xml: fixture("global-guards.xml") },
    { scope: "api", file: "apis/orders/policy.xml", xml: fixture(api) },
  ];

  it("drops the global token check, ip-filter and rate limit: an error naming the file and what is lost", () => {
    const findings = lintParsedPolicy(composeEffectivePolicy(scopes("api-without-base.xml")));
    const dropped = findings.find((f) => f.code === "base-dropped")!;
    expect(dropped).toMatchObject({ severity: "error", scope: "api", file: "apis/orders/policy.xml" });
    expect(dropped.message).toMatch(
      /drops validate-jwt \(global policy\.xml:4\), ip-filter \(global policy\.xml:9\), rate-limit \(global policy\.xml:12\)/,
    );
  });

  it("with its own token check, the API still drops the ip-filter and rate limit: a warning", () => {
    const findings = lintParsedPolicy(composeEffectivePolicy(scopes("api-own-check-without-base.xml")));
    expect(loud(findings)).toEqual({ "base-dropped": "warning" });
    expect(findings.find((f) => f.code === "base-dropped")!.message).toMatch(
      /drops ip-filter \(global policy\.xml:9\), rate-limit \(global policy\.xml:12\)$/,
    );
  });

  it("with <base />, nothing is dropped", () => {
    const xml = fixture("api-without-base.xml").replace("<inbound>", "<inbound><base />");
    const policy = composeEffectivePolicy([
      { scope: "global", file: "policy.xml", xml: fixture("global-guards.xml") },
      { scope: "api", file: "apis/orders/policy.xml", xml },
    ]);
    expect(loud(lintParsedPolicy(policy))).toEqual({});
  });
});

describe("validatesOnEveryPath: one <choose> branch runs, and a missing <otherwise> lets a request pass", () => {
  it.each([
    ["judged/choose-every-branch-validates.xml", true],
    ["judged/choose-refuses-otherwise.xml", true],
    ["judged/choose-stray-space.xml", true],
    ["exported/16-choose-method-jwt.xml", false],
    ["exported/05-choose-internal-bypass.xml", false],
    ["judged/metadata-return-response.xml", false],
  ])("%s: %s", (file, expected) => {
    const xml = readFileSync(join(FIXTURES, "..", file), "utf8");
    expect(validatesOnEveryPath(parsePolicy(xml).inbound)).toBe(expected);
  });
});

describe("placeholders left from Microsoft's examples", () => {
  it("names each one and where it stands; named values and expressions are not placeholders", () => {
    const findings = lintPolicy(fixture("docs-placeholders-left.xml")).filter((f) => f.code === "placeholder-left");
    expect(findings.map((f) => f.element)).toEqual([
      "validate-jwt/openid-config/@url",
      "validate-jwt/audiences/audience",
      "validate-jwt/issuers/issuer",
      "validate-jwt/required-claims/claim[@name=aud]/value",
    ]);
    expect(findings[0]!.message).toMatch(/^\{tenant-id-or-domain\} in https:\/\/login\.microsoftonline\.com\//);
    expect(findings[0]!.message).toContain("every token is refused");
    const clean = fixture("docs-placeholders-left.xml")
      .replace("{tenant-id-or-domain}", "{{tenant-id}}")
      .replace("{audience-value - (ex:api://guid)}", '@{ return "api://orders"; }')
      .replace("{issuer-value - (ex: https://sts.windows.net/{tenant id}/)}", "https://sts.windows.net/{{tenant-id}}/")
      .replace("{backend-app-client-id}", "{{api-client-id}}");
    expect(lintPolicy(clean).filter((f) => f.code === "placeholder-left")).toEqual([]);
  });
});
