import { cpSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { namedValueMap, readApiopsFolder, scopesFor } from "../../src/apiops/folder.js";
import {
  composeEffectivePolicy,
  createOpenIdConfigResolver,
  decideCondition,
  evaluateValidateJwt,
  parsePolicy,
  type ApimPolicy,
  type JwtValidationOutcome,
  type SigningKeyResolver,
} from "../../src/policy/index.js";
import { lintParsedPolicy } from "../../src/policy/lint/index.js";
import { ORDERS_API, PROBE_CLIENT, SANDBOX_TENANT_ID } from "../../src/sandbox/identities.js";
import {
  createSigningKey,
  mintToken,
  startOpenIdTestServer,
  v2Claims,
  type OpenIdTestServer,
  type SigningKey,
} from "./helpers/issuer.js";

// Policy documents as APIM stores and exports them (written here, in the styles of
// Microsoft's snippets and of APIOps exports), each loaded and judged by the shared evaluator.

const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);
const exported = (name: string) =>
  readFileSync(new URL(`../fixtures/policies/exported/${name}`, import.meta.url), "utf8");
const ESTATE = new URL("../fixtures/apiops/contoso", import.meta.url).pathname;

const NAMED_VALUES = {
  "tenant-id": SANDBOX_TENANT_ID,
  "api-client-id": ORDERS_API.clientId,
  "api-app-id-uri": ORDERS_API.appIdUri,
  "api-role": ORDERS_API.role,
  "probe-client-id": PROBE_CLIENT.clientId,
};

let server: OpenIdTestServer;
let key: SigningKey;
let keys: SigningKeyResolver;
let token: string;

beforeAll(async () => {
  key = await createSigningKey("published-kid");
  server = await startOpenIdTestServer([key.publicJwk]);
  keys = createOpenIdConfigResolver({ dispatcher: server.dispatcher, now: () => NOW, rewriteUrl: server.rewriteUrl });
  token = await mintToken(key, v2Claims(NOW));
});
afterAll(() => server.close());

/** What the gateway does with the probe's GET carrying the good token: each check that applies, in turn. */
async function verdict(
  policy: ApimPolicy,
  headers: Record<string, string> = {},
): Promise<JwtValidationOutcome | "no check applies"> {
  const all: Record<string, string> = { authorization: `Bearer ${token}`, ...headers };
  const request = {
    method: "GET",
    url: new URL("https://contoso.azure-api.net/orders/health"),
    headers: { get: (n: string) => all[n.toLowerCase()] ?? null },
  };
  let last: JwtValidationOutcome | undefined;
  for (const check of policy.tokenChecks) {
    if (!check.conditions.every((c) => decideCondition(c, request) !== false)) continue;
    last = await evaluateValidateJwt(check, request, { keys, now: () => NOW });
    if (!last.ok) return last;
  }
  return last ?? "no check applies";
}

describe("exported policy documents load, and the evaluator's verdict on each", () => {
  it.each([
    "01-rawxml-global-cors-jwt.xml",
    "02-xml-escaped-global-jwt.xml",
    "03-fragment-entra-jwt.xml",
    "04-api-include-fragment.xml",
    "05-choose-internal-bypass.xml",
    "06-two-validate-jwt.xml",
    "07-aad-token-minimal.xml",
    "08-aad-token-audience-expression.xml",
    "09-aad-token-other-client.xml",
    "10-jwt-certificate-id.xml",
    "11-jwt-decryption-keys.xml",
    "12-operation-base-only.xml",
    "13-product-required-claims.xml",
    "14-global-ip-filter-rate-limit.xml",
    "15-jwt-v1-named-values-secret.xml",
    "16-choose-method-jwt.xml",
    "17-check-header-jwt-expression-message.xml",
  ])("%s loads without its named values, reporting them", (file) => {
    const policy = parsePolicy(exported(file));
    expect(policy.root === "policies" || policy.root === "fragment").toBe(true);
    const xml = exported(file);
    for (const name of new Set([...xml.matchAll(/\{\{([^{}]+)\}\}/g)].map((m) => m[1]!)))
      expect(policy.unresolvedNamedValues).toContain(name);
  });

  it("01 rawxml: expressions with raw quotes, && and < kept verbatim; the token passes", async () => {
    const policy = parsePolicy(exported("01-rawxml-global-cors-jwt.xml"), { namedValues: NAMED_VALUES });
    expect(policy.expressionCount).toBe(2);
    expect(await verdict(policy)).toMatchObject({ ok: true });
  });

  it("02 XML-escaped: the same reading as rawxml; roles required and present", async () => {
    expect(
      await verdict(parsePolicy(exported("02-xml-escaped-global-jwt.xml"), { namedValues: NAMED_VALUES })),
    ).toMatchObject({ ok: true });
  });

  it("03 a <fragment> root is a policy document", async () => {
    expect(
      await verdict(parsePolicy(exported("03-fragment-entra-jwt.xml"), { namedValues: NAMED_VALUES })),
    ).toMatchObject({ ok: true });
  });

  it("04 an API that includes a fragment: nothing of its own, the fragment and <base /> named", () => {
    const policy = parsePolicy(exported("04-api-include-fragment.xml"));
    expect(policy).toMatchObject({ tokenChecks: [], inheritsInbound: true, includedFragments: ["entra-jwt"] });
  });

  it("05 validation only on the otherwise branch: decided from the request's headers", async () => {
    const policy = parsePolicy(exported("05-choose-internal-bypass.xml"), { namedValues: NAMED_VALUES });
    expect(policy.tokenChecks[0]!.conditions).toEqual([
      'not @(context.Request.Headers.ContainsKey("X-Internal-Call"))',
    ]);
    expect(await verdict(policy)).toMatchObject({ ok: true });
    // Anyone who sends the header skips validation: what the linter warns about.
    expect(await verdict(policy, { "x-internal-call": "1" })).toBe("no check applies");
  });

  it("06 two validate-jwt: the second refuses a request without the user token, with its own status and message", async () => {
    const policy = parsePolicy(exported("06-two-validate-jwt.xml"), { namedValues: NAMED_VALUES });
    expect(policy.tokenChecks).toHaveLength(2);
    expect(await verdict(policy)).toMatchObject({
      ok: false,
      reason: "TokenNotPresent",
      status: 403,
      message: "User token is missing or invalid.",
    });
  });

  it("07 validate-azure-ad-token, minimal: the probe's client is allowed", async () => {
    const policy = parsePolicy(exported("07-aad-token-minimal.xml"), { namedValues: NAMED_VALUES });
    expect(policy.validateJwt).toMatchObject({
      element: "validate-azure-ad-token",
      clientApplicationIds: [PROBE_CLIENT.clientId],
      requireScheme: "Bearer",
    });
    expect(await verdict(policy)).toMatchObject({ ok: true });
  });

  it("08 validate-azure-ad-token with an expression audience: the literal one judges, the expression is noted", async () => {
    const policy = parsePolicy(exported("08-aad-token-audience-expression.xml"), { namedValues: NAMED_VALUES });
    expect(policy.validateJwt!.audiences).toEqual([ORDERS_API.clientId]);
    expect(policy.validateJwt!.notEvaluable.join("\n")).toContain("@(context.Request.OriginalUrl.Host)");
    expect(await verdict(policy)).toMatchObject({ ok: true });
  });

  it("09 validate-azure-ad-token listing another client: the probe's token is refused for its caller", async () => {
    const outcome = await verdict(
      parsePolicy(exported("09-aad-token-other-client.xml"), { namedValues: NAMED_VALUES }),
    );
    expect(outcome).toMatchObject({ ok: false, reason: "TokenClaimValueNotAllowed" });
    expect((outcome as { detail: string }).detail).toMatch(/^client-application-ids expected/);
  });

  it("10 a certificate-id key: noted as not resolvable offline; no key here verifies the token", async () => {
    const policy = parsePolicy(exported("10-jwt-certificate-id.xml"), { namedValues: NAMED_VALUES });
    expect(policy.validateJwt!.notEvaluable.join("\n")).toContain("certificate-id=partner-signing-2026");
    expect(await verdict(policy)).toMatchObject({ ok: false });
  });

  it("11 decryption keys tolerated: a signed token is checked as usual", async () => {
    const policy = parsePolicy(exported("11-jwt-decryption-keys.xml"), { namedValues: NAMED_VALUES });
    expect(policy.validateJwt!.notEvaluable.join("\n")).toContain("decryption-keys");
    expect(await verdict(policy)).toMatchObject({ ok: true });
  });

  it("12 an operation that only says <base />", () => {
    expect(parsePolicy(exported("12-operation-base-only.xml"))).toMatchObject({
      tokenChecks: [],
      inheritsInbound: true,
    });
  });

  it("13 product scope: quota read as an access restriction, roles required of every value", async () => {
    const policy = parsePolicy(exported("13-product-required-claims.xml"), { namedValues: NAMED_VALUES });
    expect(policy.accessRestrictions.map((r) => r.name)).toEqual(["quota"]);
    expect(await verdict(policy)).toMatchObject({ ok: true });
  });

  it("14 ip-filter and rate-limit-by-key with an expression counter key", () => {
    const policy = parsePolicy(exported("14-global-ip-filter-rate-limit.xml"));
    expect(policy.accessRestrictions).toMatchObject([
      { name: "ip-filter", addresses: ["10.20.0.0-10.20.255.255", "203.0.113.7"] },
      {
        name: "rate-limit-by-key",
        attributes: { calls: "50", "renewal-period": "60", "counter-key": "@(context.Request.IpAddress)" },
      },
    ]);
  });

  it("15 v1-minded policy with a secret named value: the secret is reported; the v2 token's client-ID audience is refused first", async () => {
    const policy = parsePolicy(exported("15-jwt-v1-named-values-secret.xml"), { namedValues: NAMED_VALUES });
    expect(policy.unresolvedNamedValues).toEqual(["legacy-hmac-key"]);
    // The audience lists the App ID URI only (v1 style); a v2 token carries the client ID.
    expect(await verdict(policy)).toMatchObject({ ok: false, reason: "TokenAudienceNotAllowed" });
  });

  it("16 validation only for writes: the probe's GET is decided as not validated", async () => {
    const policy = parsePolicy(exported("16-choose-method-jwt.xml"), { namedValues: NAMED_VALUES });
    expect(await verdict(policy)).toBe("no check applies");
  });

  it("17 check-header read; an expression error message noted, the default used", () => {
    const policy = parsePolicy(exported("17-check-header-jwt-expression-message.xml"), { namedValues: NAMED_VALUES });
    expect(policy.accessRestrictions[0]).toMatchObject({
      name: "check-header",
      attributes: { name: "X-Client-Version" },
    });
    expect(policy.validateJwt!.failedValidationErrorMessage).toBeUndefined();
    expect(policy.validateJwt!.notEvaluable.join("\n")).toContain("failed-validation-error-message");
  });
});

describe("the effective policy, as APIM composes it", () => {
  it("global -> product (with a fragment) -> API -> an operation that says <base />: every check, with its scope and file", async () => {
    const folder = readApiopsFolder(ESTATE);
    const orders = folder.apis.find((a) => a.name === "orders")!;
    const { scopes, product } = scopesFor(folder, orders, { operation: "get-health" });
    expect(product?.name).toBe("partners");
    const policy = composeEffectivePolicy(scopes, folder.fragments, { namedValues: namedValueMap(folder) });
    expect(policy.tokenChecks.map((c) => c.source)).toEqual([
      { scope: "global", file: "policy.xml" },
      { scope: "fragment require-role", file: join("policy fragments", "require-role", "policy.xml") },
    ]);
    expect(await verdict(policy)).toMatchObject({ ok: true });
    expect(lintParsedPolicy(policy).filter((f) => f.severity === "error")).toEqual([]);
  });

  it("reads the current revision, not an older one", () => {
    const orders = readApiopsFolder(ESTATE).apis.find((a) => a.name === "orders")!;
    expect(orders).toMatchObject({ revision: "2", folder: join("apis", "orders") });
  });

  it("an API whose policy does not say <base /> drops global validation: no token validation at any scope is an error", () => {
    const folder = readApiopsFolder(ESTATE);
    const status = folder.apis.find((a) => a.name === "status")!;
    const policy = composeEffectivePolicy(scopesFor(folder, status).scopes, folder.fragments, {
      namedValues: namedValueMap(folder),
    });
    expect(policy.tokenChecks).toEqual([]);
    const findings = lintParsedPolicy(policy);
    expect(findings.map((f) => [f.code, f.severity])).toEqual([
      ["base-dropped", "error"],
      ["no-validate-jwt", "error"],
    ]);
    // The file that drops it, and what is lost, by scope, file and line.
    expect(findings[0]).toMatchObject({ scope: "api", file: join("apis", "status", "policy.xml") });
    expect(findings[0]!.message).toMatch(/drops validate-jwt \(global policy\.xml:\d+\)/);
    // The API-level error names the same cause and fix, never "add a validate-jwt" beside the dropped one.
    expect(findings[1]!.message).toContain(`api ${join("apis", "status", "policy.xml")} drops the enclosing scope's`);
    expect(findings[1]!.fix).toBe(
      `Put <base /> first in the inbound section of ${join("apis", "status", "policy.xml")}, so the enclosing scope's token validation applies.`,
    );
  });

  it("reads the apiops-cli layout the same way (namedValues/, policyFragments/, products/<p>/apis.json)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "apiops-cli-"));
    try {
      cpSync(ESTATE, dir, { recursive: true });
      renameSync(join(dir, "named values"), join(dir, "namedValues"));
      renameSync(join(dir, "policy fragments"), join(dir, "policyFragments"));
      rmSync(join(dir, "products", "partners", "apis"), { recursive: true });
      writeFileSync(join(dir, "products", "partners", "apis.json"), JSON.stringify(["orders", "inventory"]));
      const folder = readApiopsFolder(dir);
      const orders = folder.apis.find((a) => a.name === "orders")!;
      const policy = composeEffectivePolicy(scopesFor(folder, orders).scopes, folder.fragments, {
        namedValues: namedValueMap(folder),
      });
      expect(policy.tokenChecks).toHaveLength(2);
      expect(await verdict(policy)).toMatchObject({ ok: true });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a secret named value has no value in the artifacts and stays unresolved", () => {
    const folder = readApiopsFolder(ESTATE);
    expect(folder.namedValues.find((n) => n.name === "backend-api-key")).toMatchObject({ secret: true });
    expect(namedValueMap(folder)).not.toHaveProperty("backend-api-key");
  });
});

describe("every failing rule, not only the first", () => {
  it("a token with the wrong audience, the wrong issuer and no role: the audience decides, the other two are listed", async () => {
    const policy = parsePolicy(
      exported("02-xml-escaped-global-jwt.xml").replace(
        "<audiences>",
        "<issuers><issuer>https://login.microsoftonline.com/another-tenant/v2.0</issuer></issuers><audiences>",
      ),
      { namedValues: NAMED_VALUES },
    );
    const bad = await mintToken(key, v2Claims(NOW, { aud: "api://someone-else", roles: undefined }));
    const outcome = await evaluateValidateJwt(
      policy.validateJwt!,
      {
        url: new URL("https://x.invalid/"),
        headers: { get: (n) => (n.toLowerCase() === "authorization" ? `Bearer ${bad}` : null) },
      },
      { keys, now: () => NOW },
    );
    expect(outcome).toMatchObject({ ok: false, reason: "TokenAudienceNotAllowed" });
    expect((outcome as { alsoFailing?: { reason: string }[] }).alsoFailing?.map((f) => f.reason)).toEqual([
      "TokenIssuerNotAllowed",
      "TokenClaimNotFound",
    ]);
  });
});
