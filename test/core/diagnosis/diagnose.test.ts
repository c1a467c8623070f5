import { describe, expect, it } from "vitest";
import {
  CAUSE_CODES,
  diagnose,
  diagnoseRun,
  expectationsFromPolicy,
  expectationsFromSettings,
  observationFromResult,
  answeredByFromBody,
  type CauseCode,
  type Expectations,
  type ProbeObservation,
} from "../../../src/core/diagnosis/index.js";
import type { ProbeName } from "../../../src/probe-matrix/names.js";
import type { ProbeResult, TokenSummary } from "../../../src/core/results/types.js";
import { parsePolicy } from "../../../src/policy/index.js";
import { ORDERS_API, PROBE_CLIENT, SANDBOX_TENANT_ID, UNASSIGNED_CLIENT } from "../../../src/sandbox/identities.js";

const T = SANDBOX_TENANT_ID;
const V1_ISS = `https://sts.windows.net/${T}/`;
const V2_ISS = `https://login.microsoftonline.com/${T}/v2.0`;
const NOW = Date.UTC(2025, 0, 1, 12, 0, 0);
const NOW_S = NOW / 1000;

const V2_TOKEN: TokenSummary = {
  aud: ORDERS_API.clientId,
  iss: V2_ISS,
  ver: "2.0",
  client: PROBE_CLIENT.clientId,
  roles: [ORDERS_API.role],
  exp: NOW_S + 3000,
  kid: "key-1",
  alg: "RS256",
};

const RECOMMENDED_POLICY = `<validate-jwt header-name="Authorization" require-scheme="Bearer">
  <openid-config url="https://login.microsoftonline.com/${T}/v2.0/.well-known/openid-configuration" />
  <audiences><audience>${ORDERS_API.appIdUri}</audience><audience>${ORDERS_API.clientId}</audience></audiences>
  <required-claims><claim name="roles" match="any"><value>${ORDERS_API.role}</value></claim></required-claims>
</validate-jwt>`;
const POLICY: Expectations = expectationsFromPolicy(parsePolicy(RECOMMENDED_POLICY).validateJwt!);

function obs(over: Partial<ProbeObservation> = {}): ProbeObservation {
  return { probe: "valid", outcome: "fail", expectedStatuses: [200], at: NOW, ...over };
}
const refusedValid = (over: Partial<ProbeObservation> = {}) =>
  obs({
    actualStatus: 401,
    apimMessage: "Unauthorized. Access token is missing or invalid.",
    answeredBy: "gateway",
    requestId: "req-1",
    token: V2_TOKEN,
    ...over,
  });
const blocked = (aadsts: number, over: Partial<ProbeObservation> = {}) =>
  obs({
    outcome: "blocked",
    tokenFailure: { aadsts, oauthError: "invalid_client", status: 401 },
    clientId: PROBE_CLIENT.clientId,
    scope: `${ORDERS_API.appIdUri}/.default`,
    tenant: T,
    ...over,
  });

interface Case {
  name: string;
  observation: ProbeObservation;
  expectations?: Expectations;
  cause: CauseCode;
  evidence?: Record<string, string>;
}

const CASES: Case[] = [
  {
    name: "preflight: audience not allowed",
    observation: refusedValid({
      token: { ...V2_TOKEN, aud: "api://billing-api" },
      preflight: {
        ok: false,
        reason: "TokenAudienceNotAllowed",
        detail: "audience expected [..] received ..",
        expectedAudiences: [ORDERS_API.appIdUri, ORDERS_API.clientId],
      },
    }),
    cause: "audience-mismatch",
    evidence: {
      receivedAudience: "api://billing-api",
      expectedAudience: `${ORDERS_API.appIdUri}, ${ORDERS_API.clientId}`,
      preflightReason: "TokenAudienceNotAllowed",
    },
  },
  {
    name: "no preflight: token audience vs the policy's audiences",
    observation: refusedValid({ token: { ...V2_TOKEN, aud: "api://billing-api" } }),
    expectations: POLICY,
    cause: "audience-mismatch",
    evidence: { receivedAudience: "api://billing-api", expectedFrom: "policy", requestId: "req-1" },
  },
  {
    // Every rule fails at once for a Graph token (audience, issuer, signature); the cause is the scope.
    name: "the API's scope is Microsoft Graph's",
    observation: refusedValid({
      token: { ...V2_TOKEN, iss: V1_ISS, ver: "1.0", aud: "https://graph.microsoft.com", firstParty: true },
      preflight: { ok: false, reason: "TokenSignatureInvalid", detail: "signature verified by none of 1 usable keys" },
    }),
    expectations: POLICY,
    cause: "first-party-scope",
    evidence: { resource: "Microsoft Graph", receivedAudience: "https://graph.microsoft.com" },
  },
  {
    name: "the API's scope is Azure Resource Manager's (v2 token: aud is its app id), no policy",
    observation: refusedValid({ token: { ...V2_TOKEN, aud: "797f4846-ba00-4fd7-ba43-dac1f8f63013" } }),
    cause: "first-party-scope",
    evidence: { resource: "Azure Resource Manager" },
  },
  {
    name: "v1 token against a v2 policy",
    observation: refusedValid({ token: { ...V2_TOKEN, iss: V1_ISS, ver: "1.0", aud: ORDERS_API.appIdUri } }),
    expectations: POLICY,
    cause: "issuer-mismatch",
    evidence: { receivedIssuer: V1_ISS, expectedIssuer: V2_ISS, tokenVersion: "1", expectedVersion: "2" },
  },
  {
    name: "preflight: issuer of another tenant",
    observation: refusedValid({
      token: { ...V2_TOKEN, iss: "https://login.microsoftonline.com/11111111-2222-4333-8444-555555555555/v2.0" },
      preflight: { ok: false, reason: "TokenIssuerNotAllowed", detail: "issuer expected", expectedIssuers: [V2_ISS] },
    }),
    cause: "issuer-mismatch",
    evidence: { receivedTenant: "11111111-2222-4333-8444-555555555555", expectedTenant: T },
  },
  {
    name: "preflight: roles claim missing",
    observation: refusedValid({
      token: { ...V2_TOKEN, roles: undefined },
      preflight: {
        ok: false,
        reason: "TokenClaimNotFound",
        detail: "claim roles missing",
        claim: "roles",
        expectedValues: [ORDERS_API.role],
      },
    }),
    cause: "missing-role",
    evidence: {
      expectedRole: ORDERS_API.role,
      receivedRoles: "none",
      client: PROBE_CLIENT.clientId,
      preflightReason: "TokenClaimNotFound",
    },
  },
  {
    name: "no preflight: roles vs the policy's required role",
    observation: refusedValid({ token: { ...V2_TOKEN, roles: ["Other.Role"] } }),
    expectations: POLICY,
    cause: "missing-role",
    evidence: { expectedRole: ORDERS_API.role, receivedRoles: "Other.Role" },
  },
  {
    name: "backend that validates tokens: insufficient_scope",
    observation: refusedValid({
      actualStatus: 403,
      answeredBy: "backend",
      apimMessage: undefined,
      wwwAuthenticate: 'Bearer error="insufficient_scope"',
    }),
    cause: "missing-role",
    evidence: { wwwAuthenticate: 'Bearer error="insufficient_scope"', actualStatus: "403" },
  },
  {
    name: "AADSTS501051",
    observation: blocked(501051),
    cause: "client-not-assigned",
    evidence: { aadsts: "501051", clientId: PROBE_CLIENT.clientId },
  },
  {
    name: "token past exp",
    observation: refusedValid({ token: { ...V2_TOKEN, exp: NOW_S - 120 } }),
    cause: "token-expired",
    evidence: { exp: new Date((NOW_S - 120) * 1000).toISOString(), expiredForSeconds: "120" },
  },
  {
    name: "backend challenge: token expired",
    observation: refusedValid({
      answeredBy: "backend",
      apimMessage: undefined,
      wwwAuthenticate: `Bearer error="invalid_token", error_description="The token expired at '01/01/2025 11:00:00'"`,
    }),
    cause: "token-expired",
  },
  {
    name: "preflight: signing key not found",
    observation: refusedValid({
      jwksKids: ["key-2", "key-3"],
      preflight: { ok: false, reason: "TokenSignatureKeyNotFound", detail: "signing key kid key-1 not found" },
    }),
    cause: "signing-key-unknown",
    evidence: { kid: "key-1", jwksKids: "key-2, key-3" },
  },
  {
    name: "expired-token passed with a rotated-away key",
    observation: obs({
      probe: "expired-token",
      outcome: "pass",
      expectedStatuses: [401],
      actualStatus: 401,
      token: { ...V2_TOKEN, exp: NOW_S - 86_400 },
      jwksKids: ["key-2"],
    }),
    cause: "signing-key-unknown",
    evidence: { kid: "key-1", jwksKids: "key-2" },
  },
  {
    name: "AADSTS7000215 on the token probe",
    observation: blocked(7000215, { probe: "token", outcome: "fail", expectedStatuses: [] }),
    cause: "invalid-client-secret",
    evidence: { aadsts: "7000215", tokenStatus: "401" },
  },
  {
    name: "AADSTS7000222",
    observation: blocked(7000222),
    cause: "client-secret-expired",
    evidence: { aadsts: "7000222" },
  },
  {
    name: "AADSTS700016",
    observation: blocked(700016),
    cause: "unknown-client",
    evidence: { aadsts: "700016", tenant: T },
  },
  {
    name: "AADSTS500011",
    observation: blocked(500011),
    cause: "unknown-resource",
    evidence: { scope: `${ORDERS_API.appIdUri}/.default` },
  },
  { name: "AADSTS70011", observation: blocked(70011), cause: "invalid-scope", evidence: { aadsts: "70011" } },
  {
    name: "AADSTS1002012 (no /.default)",
    observation: blocked(1002012, { scope: ORDERS_API.appIdUri }),
    cause: "invalid-scope",
    evidence: { aadsts: "1002012", scope: ORDERS_API.appIdUri },
  },
  { name: "AADSTS90002", observation: blocked(90002), cause: "unknown-tenant", evidence: { aadsts: "90002" } },
  {
    name: "token endpoint 429",
    observation: obs({ outcome: "blocked", tokenFailure: { status: 429, retryAfterSeconds: 60 } }),
    cause: "throttled",
    evidence: { tokenStatus: "429", retryAfterSeconds: "60" },
  },
  {
    name: "API 429",
    observation: refusedValid({ actualStatus: 429, apimMessage: "Too many requests." }),
    cause: "throttled",
    evidence: { actualStatus: "429" },
  },
  {
    name: "APIM rate-limit",
    observation: refusedValid({ actualStatus: 429, apimMessage: "Rate limit is exceeded. Try again in 12 seconds." }),
    cause: "rate-limited",
    evidence: { actualStatus: "429" },
  },
  {
    name: "APIM ip-filter",
    observation: refusedValid({
      actualStatus: 403,
      apimMessage: "Caller IP address 198.51.100.4 is not allowed. Access denied.",
    }),
    cause: "ip-filtered",
    evidence: { actualStatus: "403" },
  },
  {
    name: "preflight: several rules fail; the first decides, the others are listed",
    observation: refusedValid({
      token: { ...V2_TOKEN, roles: undefined },
      preflight: {
        ok: false,
        reason: "TokenClaimNotFound",
        detail: "claim roles missing",
        claim: "roles",
        expectedValues: [ORDERS_API.role],
        alsoFailing: ["TokenClaimValueNotAllowed: client-application-ids expected [x] received y"],
      },
    }),
    cause: "missing-role",
    evidence: { alsoFailing: "TokenClaimValueNotAllowed: client-application-ids expected [x] received y" },
  },
  {
    name: "token acquired after the tenant rolled its signing keys over",
    observation: obs({
      probe: "token",
      outcome: "pass",
      expectedStatuses: [],
      token: V2_TOKEN,
      signingKeyChange: { added: ["key-2"], removed: ["key-0"] },
    }),
    cause: "signing-key-rollover",
    evidence: { addedKids: "key-2", removedKids: "key-0", kid: "key-1" },
  },
  {
    name: "the gateway's certificate expires in 10 days",
    observation: obs({
      probe: "tls-certificate",
      outcome: "fail",
      expectedStatuses: [],
      expiring: {
        cause: "certificate-expiring",
        evidence: {
          origin: "https://api.contoso.com",
          subject: "api.contoso.com",
          issuer: "Contoso CA",
          expiresOn: "2026-12-11T00:00:00.000Z",
          daysLeft: "10",
          warnDays: "30",
        },
      },
    }),
    cause: "certificate-expiring",
    evidence: { subject: "api.contoso.com", daysLeft: "10", warnDays: "30" },
  },
  {
    name: "the probe's client secret expires in 7 days",
    observation: obs({
      probe: "credential-expiry",
      outcome: "fail",
      expectedStatuses: [],
      expiring: {
        cause: "credential-expiring",
        evidence: {
          item: "client secret (hint Abc) of c2a8",
          expiresOn: "2026-12-08T00:00:00.000Z",
          daysLeft: "7",
          warnDays: "30",
          clientId: "c2a8",
          setting: "PROBE_CLIENT_SECRET",
        },
      },
    }),
    cause: "credential-expiring",
    evidence: { item: "client secret (hint Abc) of c2a8", daysLeft: "7", setting: "PROBE_CLIENT_SECRET" },
  },
  {
    name: "token lost a role and changed version since the last run",
    observation: obs({
      probe: "token",
      outcome: "pass",
      expectedStatuses: [],
      token: V2_TOKEN,
      scope: "api://orders/.default",
      tokenDrift: { rolesRemoved: ["Orders.Read"], rolesAdded: [], version: { from: "1.0", to: "2.0" } },
      // A rollover at the same time does not hide the drift: the drift is what breaks callers.
      signingKeyChange: { added: ["key-2"], removed: [] },
    }),
    cause: "token-drift",
    evidence: {
      scope: "api://orders/.default",
      drift: "roles removed: Orders.Read; version 1.0 -> 2.0",
      driftKinds: "roles-removed,version",
    },
  },
  {
    name: "valid's 200 fails an assertion",
    observation: obs({
      actualStatus: 200,
      assertionFailure: {
        cause: "assertion-failed",
        assertion: "bodyContains",
        expected: '"ok"',
        received: "not found",
      },
    }),
    cause: "assertion-failed",
    evidence: { assertion: "bodyContains", received: "not found" },
  },
  {
    name: "valid's 200 too slow",
    observation: obs({
      actualStatus: 200,
      requestId: "req-9",
      assertionFailure: {
        cause: "slow-response",
        assertion: "maxLatencyMs",
        expected: "at most 100 ms",
        received: "340 ms",
      },
    }),
    cause: "slow-response",
    evidence: { expected: "at most 100 ms", received: "340 ms" },
  },
  {
    name: "valid's 200 carrying APIM's error document",
    observation: obs({
      actualStatus: 200,
      requestId: "req-10",
      assertionFailure: {
        cause: "error-document",
        assertion: "the body",
        expected: "the API's answer",
        received: 'APIM\'s error document, statusCode 500: "Internal server error"',
      },
    }),
    cause: "error-document",
    evidence: { received: 'APIM\'s error document, statusCode 500: "Internal server error"' },
  },
  {
    name: "validate-azure-ad-token without the probe's client",
    observation: refusedValid({
      preflight: {
        ok: false,
        reason: "TokenClaimValueNotAllowed",
        detail: "client-application-ids expected [x] received y",
        claim: "client-application-ids",
        expectedValues: ["x"],
      },
    }),
    cause: "client-not-allowed",
    evidence: { preflightDetail: "client-application-ids expected [x] received y" },
  },
  {
    name: "valid without a key on a keyed API",
    observation: refusedValid({
      apimMessage:
        "Access denied due to missing subscription key. Make sure to include subscription key when making requests to an API.",
    }),
    cause: "missing-subscription-key",
    evidence: { actualStatus: "401" },
  },
  {
    name: "valid with a wrong key",
    observation: refusedValid({
      apimMessage:
        "Access denied due to invalid subscription key. Make sure to provide a valid key for an active subscription.",
    }),
    cause: "invalid-subscription-key",
  },
  {
    name: "APIM says JWT not present though valid sent one",
    observation: refusedValid({ apimMessage: "JWT not present." }),
    cause: "missing-bearer-scheme",
    evidence: { apimMessage: "JWT not present." },
  },
  {
    name: "preflight: scheme required is not Bearer",
    observation: refusedValid({
      preflight: {
        ok: false,
        reason: "TokenNotPresent",
        detail: "scheme expected JWT received Bearer",
        requireScheme: "JWT",
      },
    }),
    cause: "missing-bearer-scheme",
    evidence: { preflightReason: "TokenNotPresent" },
  },
  {
    name: "backend challenged with a bare Bearer: no token reached it",
    observation: refusedValid({ answeredBy: "backend", apimMessage: undefined, wwwAuthenticate: "Bearer" }),
    cause: "missing-bearer-scheme",
    evidence: { wwwAuthenticate: "Bearer" },
  },
  {
    name: "backend 500",
    observation: refusedValid({ actualStatus: 500, answeredBy: "backend", apimMessage: undefined }),
    cause: "backend-error",
    evidence: { answeredBy: "backend", actualStatus: "500" },
  },
  {
    name: "gateway 500",
    observation: refusedValid({ actualStatus: 500, answeredBy: "gateway", apimMessage: "Internal server error" }),
    cause: "gateway-error",
    evidence: { answeredBy: "gateway" },
  },
  {
    name: "timeout",
    observation: obs({ outcome: "error", transportFailure: "timeout" }),
    cause: "timeout",
    evidence: { transport: "timeout" },
  },
  {
    name: "tls",
    observation: obs({ outcome: "error", transportFailure: "tls" }),
    cause: "tls-error",
    evidence: { transport: "tls" },
  },
  {
    name: "dns",
    observation: obs({ outcome: "error", transportFailure: "dns" }),
    cause: "dns-error",
    evidence: { transport: "dns" },
  },
  {
    name: "connection",
    observation: obs({ outcome: "error", transportFailure: "connection" }),
    cause: "connection-error",
    evidence: { transport: "connection" },
  },
  {
    name: "APIM 404",
    observation: refusedValid({ actualStatus: 404, apimMessage: "Resource not found" }),
    cause: "api-not-found",
    evidence: { actualStatus: "404" },
  },
  {
    name: "preflight: signature invalid",
    observation: refusedValid({
      preflight: {
        ok: false,
        reason: "TokenSignatureInvalid",
        detail: "signature (RS256, kid key-1) verified by none of 1 usable keys",
      },
    }),
    cause: "signature-invalid",
    evidence: { preflightReason: "TokenSignatureInvalid" },
  },
  {
    name: "preflight: not a JWT",
    observation: refusedValid({ preflight: { ok: false, reason: "JwtInvalid", detail: "token is not a compact JWS" } }),
    cause: "token-invalid",
  },
  {
    name: "preflight: azp required, v1 token has appid",
    observation: refusedValid({
      token: { ...V2_TOKEN, ver: "1.0", iss: V1_ISS },
      preflight: {
        ok: false,
        reason: "TokenClaimNotFound",
        detail: "claim azp missing",
        claim: "azp",
        expectedValues: [PROBE_CLIENT.clientId],
      },
    }),
    cause: "required-claim-missing",
    evidence: { claim: "azp", expectedValues: PROBE_CLIENT.clientId, receivedValues: "none", tokenVersion: "1" },
  },
  {
    name: "AADSTS700027",
    observation: blocked(700027),
    cause: "invalid-client-assertion",
    evidence: { aadsts: "700027" },
  },
  {
    name: "unknown AADSTS code",
    observation: blocked(50049),
    cause: "token-request-failed",
    evidence: { aadsts: "50049" },
  },
  // The codes of Entra's error reference a client-credentials caller meets.
  {
    name: "AADSTS700211",
    observation: blocked(700211, { federatedAudience: "api://AzureADTokenExchange" }),
    cause: "federated-credential-mismatch",
    evidence: { aadsts: "700211", federatedAudience: "api://AzureADTokenExchange" },
  },
  {
    name: "AADSTS70021",
    observation: blocked(70021, { federatedAudience: "api://AzureADTokenExchangeUSGov" }),
    cause: "federated-credential-mismatch",
    evidence: { aadsts: "70021" },
  },
  {
    name: "AADSTS7000112",
    observation: blocked(7000112),
    cause: "application-disabled",
    evidence: { aadsts: "7000112" },
  },
  {
    name: "AADSTS7000229",
    observation: blocked(7000229),
    cause: "client-service-principal-missing",
    evidence: { aadsts: "7000229", tenant: T },
  },
  { name: "AADSTS65001", observation: blocked(65001), cause: "consent-required", evidence: { aadsts: "65001" } },
  {
    name: "AADSTS90038",
    observation: blocked(90038, { authorityHost: "https://login.microsoftonline.com" }),
    cause: "wrong-cloud",
    evidence: { aadsts: "90038", authorityHost: "https://login.microsoftonline.com" },
  },
  {
    name: "HTML 503 from the token endpoint",
    observation: obs({
      probe: "token",
      expectedStatuses: [],
      tokenFailure: { oauthError: "server_error", status: 503 },
      authorityHost: "https://login.microsoftonline.com",
      tenant: T,
    }),
    cause: "token-endpoint-unavailable",
    evidence: { tokenStatus: "503", oauthError: "server_error" },
  },
  {
    name: "timeout at the token endpoint",
    observation: obs({
      probe: "token",
      outcome: "error",
      expectedStatuses: [],
      transportFailure: "timeout",
      failedAt: "token-endpoint",
      authorityHost: "https://login.microsoftonline.com",
    }),
    cause: "token-endpoint-unavailable",
    evidence: { transport: "timeout", endpoint: "token endpoint" },
  },
  {
    name: "an access token that is not a JWT",
    observation: obs({
      probe: "token",
      outcome: "fail",
      expectedStatuses: [],
      tokenFailure: { oauthError: "access_token_not_jwt" },
      authorityHost: "https://login.example.net",
    }),
    cause: "token-not-jwt",
    evidence: { oauthError: "access_token_not_jwt", authorityHost: "https://login.example.net" },
  },
  {
    name: "managed identity endpoint down",
    observation: obs({
      probe: "token",
      expectedStatuses: [],
      tokenFailure: { oauthError: "managed_identity_unavailable" },
    }),
    cause: "managed-identity-unavailable",
    evidence: { oauthError: "managed_identity_unavailable" },
  },
  {
    name: "no policy, v1 token refused: ranked hypotheses, token version first",
    observation: refusedValid({
      token: { ...V2_TOKEN, iss: V1_ISS, ver: "1.0", aud: ORDERS_API.appIdUri, roles: undefined },
    }),
    expectations: expectationsFromSettings({ scope: `${ORDERS_API.appIdUri}/.default`, tenantId: T }),
    cause: "token-refused",
    evidence: {
      hypothesis1: expect.stringMatching(/^token-version: /) as unknown as string,
      hypothesis2: expect.stringMatching(/^missing-role: /) as unknown as string,
    },
  },
  {
    name: "wrong-audience refused, but its token was a Graph token",
    observation: obs({
      probe: "wrong-audience",
      outcome: "pass",
      expectedStatuses: [401],
      actualStatus: 401,
      audienceUnproven: { differences: ["token-format"], reason: "first-party format", fix: "leave it unset" },
    }),
    cause: "audience-unproven",
    evidence: { actualStatus: "401" },
  },
  {
    name: "no-token let in, but the target accepts the API as open by design",
    observation: obs({
      probe: "no-token",
      outcome: "pass",
      expectedStatuses: [401],
      actualStatus: 200,
      acceptedOpen: "public status endpoint, no data",
    }),
    cause: "accepted-open",
    evidence: { actualStatus: "200", acceptOpenReason: "public status endpoint, no data" },
  },
  {
    name: "valid told the key is missing; APIM's challenge names the API's renamed key header",
    observation: obs({
      probe: "valid",
      outcome: "fail",
      expectedStatuses: [200],
      actualStatus: 401,
      sentKeyHeader: "Ocp-Apim-Subscription-Key",
      apimMessage:
        "Access denied due to missing subscription key. Make sure to include subscription key when making requests to an API.",
      wwwAuthenticate:
        'AzureApiManagementKey realm="https://contoso.azure-api.net/billing",name="X-Billing-Key",type="header"',
    }),
    cause: "subscription-key-header",
    evidence: { expectedKeyHeader: "X-Billing-Key", sentKeyHeader: "Ocp-Apim-Subscription-Key" },
  },
  {
    name: "no-token answered 403 where 401 was expected",
    observation: obs({ probe: "no-token", expectedStatuses: [401], actualStatus: 403, apimMessage: "Forbidden" }),
    cause: "unexpected-status",
    evidence: { expectedStatus: "401", actualStatus: "403" },
  },
  {
    name: "valid refused although preflight passed: the deployed policy differs",
    observation: refusedValid({ preflight: { ok: true } }),
    expectations: POLICY,
    cause: "unexpected-status",
    evidence: { preflight: "passed" },
  },
];

describe("diagnose", () => {
  it.each(CASES)("$name -> $cause", ({ observation, expectations, cause, evidence }) => {
    const diagnosis = diagnose(observation, expectations);
    expect(diagnosis?.cause).toBe(cause);
    expect(diagnosis?.evidence).toMatchObject({ probe: observation.probe, ...evidence });
    // Every placeholder of the summary was filled from what the case observed.
    expect(diagnosis?.summary).not.toContain("(unknown)");
  });

  // run-budget is the runner's watchdog answering for probes that never settled (test/e2e/watchdog.test.ts).
  it("has a case for every cause code but subscription-not-required, gateway-open, no-token-validation and config-drift (tested below)", () => {
    const covered = new Set<string>([
      ...CASES.map((c) => c.cause),
      "subscription-not-required",
      "gateway-open",
      "no-token-validation",
      "config-drift",
      "run-budget",
    ]);
    expect(CAUSE_CODES.filter((code) => !covered.has(code))).toEqual([]);
  });

  it("a certificate the probe does not trust at the token endpoint is its trust configuration: NODE_EXTRA_CA_CERTS, never 'retried'", () => {
    const diagnosis = diagnose(
      obs({
        probe: "token",
        outcome: "error",
        expectedStatuses: [],
        transportFailure: "tls",
        failedAt: "token-endpoint",
        authorityHost: "https://login.microsoftonline.com",
      }),
    );
    expect(diagnosis?.cause).toBe("tls-error");
    expect(diagnosis?.fix).toContain("NODE_EXTRA_CA_CERTS");
    expect(`${diagnosis?.summary} ${diagnosis?.fix}`).not.toMatch(/transient|Microsoft's side|retried once/);
  });

  it("says 'retried' only where a retry happened", () => {
    const timeout = diagnose(
      obs({
        probe: "token",
        outcome: "error",
        expectedStatuses: [],
        transportFailure: "timeout",
        failedAt: "token-endpoint",
      }),
    );
    expect(timeout?.cause).toBe("token-endpoint-unavailable");
    expect(timeout?.summary).not.toMatch(/retried/);
    const once = diagnose(
      obs({ probe: "token", expectedStatuses: [], tokenFailure: { oauthError: "server_error", status: 503 } }),
    );
    expect(once?.summary).not.toMatch(/retried/);
    const twice = diagnose(
      obs({
        probe: "token",
        expectedStatuses: [],
        tokenFailure: { oauthError: "server_error", status: 503, retried: true },
      }),
    );
    expect(twice?.summary).toMatch(/it was retried once/);
  });

  it("a first-party audience the API expects (a gateway in front of Azure OpenAI) is not first-party-scope", () => {
    const expectations: Expectations = { source: "policy", audiences: ["https://cognitiveservices.azure.com"] };
    const diagnosis = diagnose(
      refusedValid({ token: { ...V2_TOKEN, aud: "https://cognitiveservices.azure.com", roles: undefined } }),
      expectations,
    );
    expect(diagnosis?.cause).not.toBe("first-party-scope");
  });

  const OPEN: [ProbeName, string][] = [
    ["no-subscription-key", "subscription key"],
    ["invalid-subscription-key", "subscription key"],
    ["no-token", "validate-jwt"],
    ["wrong-audience", "audience"],
    ["expired-token", "expiry"],
    ["forged-signature", "signature"],
    ["alg-none", "unsigned-token (alg none)"],
    ["unassigned-client", "role"],
  ];
  it.each(OPEN)("%s got 200 -> gateway-open, missing %s", (probe, missingCheck) => {
    const token: TokenSummary = {
      ...V2_TOKEN,
      client: UNASSIGNED_CLIENT.clientId,
      roles: undefined,
      aud: "https://graph.microsoft.com",
    };
    const diagnosis = diagnose(obs({ probe, outcome: "security", expectedStatuses: [401], actualStatus: 200, token }));
    expect(diagnosis).toMatchObject({ cause: "gateway-open", evidence: { probe, missingCheck, actualStatus: "200" } });
    if (probe === "wrong-audience")
      expect(diagnosis?.evidence).toMatchObject({ receivedAudience: "https://graph.microsoft.com" });
    if (probe === "unassigned-client")
      expect(diagnosis?.evidence).toMatchObject({ client: UNASSIGNED_CLIENT.clientId, receivedRoles: "none" });
  });

  it("names the accessTokenAcceptedVersion fix for a v1/v2 issuer mismatch", () => {
    const diagnosis = diagnose(refusedValid({ token: { ...V2_TOKEN, iss: V1_ISS, ver: "1.0" } }), POLICY);
    expect(diagnosis?.fix).toContain("accessTokenAcceptedVersion");
  });

  it("returns nothing for pass and skipped", () => {
    expect(diagnose(obs({ outcome: "pass", actualStatus: 200, token: V2_TOKEN }))).toBeUndefined();
    expect(
      diagnose(
        obs({ probe: "expired-token", outcome: "pass", actualStatus: 401, token: V2_TOKEN, jwksKids: ["key-1"] }),
      ),
    ).toBeUndefined();
    expect(diagnose(obs({ outcome: "skipped" }))).toBeUndefined();
  });

  it("does not call a v2 token's client-ID audience a mismatch when settings only know the App ID URI", () => {
    const settings = expectationsFromSettings({ scope: `${ORDERS_API.appIdUri}/.default`, tenantId: T });
    // Not a mismatch; but the likely cause when a policy lists only the App ID URI.
    expect(diagnose(refusedValid(), settings)).toMatchObject({
      cause: "token-refused",
      evidence: { hypothesis1: expect.stringMatching(/^audience-form: /) as unknown },
    });
    const v1 = { ...V2_TOKEN, ver: "1.0", iss: V1_ISS, aud: "api://someone-else" };
    expect(diagnose(refusedValid({ token: v1 }), settings)).toMatchObject({
      cause: "audience-mismatch",
      evidence: { expectedAudience: ORDERS_API.appIdUri, expectedFrom: "settings" },
    });
  });

  it("never puts a token in a diagnosis", () => {
    const all = CASES.map((c) => JSON.stringify(diagnose(c.observation, c.expectations)));
    for (const text of all) expect(text).not.toMatch(/eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+/);
  });
});

describe("diagnoseRun", () => {
  const keyProbe = (probe: ProbeName, status: number) =>
    obs({ probe, outcome: status < 300 ? "security" : "pass", expectedStatuses: [401], actualStatus: status });

  it("both key probes in: subscription-not-required on both", () => {
    const diagnoses = diagnoseRun([
      obs({ outcome: "pass", actualStatus: 200 }),
      keyProbe("no-subscription-key", 200),
      keyProbe("invalid-subscription-key", 200),
    ]);
    expect(diagnoses.map((d) => d?.cause)).toEqual([
      undefined,
      "subscription-not-required",
      "subscription-not-required",
    ]);
    expect(diagnoses[1]?.evidence).toMatchObject({ probe: "no-subscription-key", actualStatus: "200" });
  });

  it("the key-less request in, a wrong key refused: subscription-not-required (APIM refuses a wrong key even then)", () => {
    const diagnoses = diagnoseRun([keyProbe("no-subscription-key", 200), keyProbe("invalid-subscription-key", 401)]);
    expect(diagnoses.map((d) => d?.cause)).toEqual(["subscription-not-required", undefined]);
  });

  it("a wrong key let in while the key-less request is refused: gateway-open for that one", () => {
    const diagnoses = diagnoseRun([keyProbe("no-subscription-key", 401), keyProbe("invalid-subscription-key", 200)]);
    expect(diagnoses.map((d) => d?.cause)).toEqual([undefined, "gateway-open"]);
  });

  it("config-drift when the folder promises what the gateway does not do, naming the artifact", () => {
    const promises = {
      subscriptionRequired: true,
      subscriptionArtifact: "apis/orders/apiInformation.json",
      validationArtifact: "policy.xml:6",
    };
    const diagnoses = diagnoseRun(
      [keyProbe("no-subscription-key", 200), keyProbe("invalid-subscription-key", 401), keyProbe("no-token", 200)],
      undefined,
      undefined,
      promises,
    );
    expect(diagnoses.map((d) => d?.cause)).toEqual(["config-drift", undefined, "config-drift"]);
    expect(diagnoses[0]!.evidence).toMatchObject({
      artifact: "apis/orders/apiInformation.json",
      promise: "subscriptionRequired: true",
    });
    expect(diagnoses[2]!.evidence).toMatchObject({ artifact: "policy.xml:6", promise: "token validation" });
    expect(diagnoses[0]!.summary).not.toContain("(unknown)");
  });

  it("no-token in: no-token-validation on every token probe that got in, one fix with the tenant's values", () => {
    const tenant = {
      tenantId: T,
      openIdConfigUrl: `https://login.microsoftonline.us/${T}/v2.0/.well-known/openid-configuration`,
    };
    const diagnoses = diagnoseRun(
      [keyProbe("no-token", 200), keyProbe("alg-none", 200), keyProbe("no-subscription-key", 401)],
      undefined,
      tenant,
    );
    expect(diagnoses.map((d) => d?.cause)).toEqual(["no-token-validation", "no-token-validation", undefined]);
    expect(diagnoses[0]!.fix).toBe(diagnoses[1]!.fix);
    expect(diagnoses[0]!.fix).toContain(tenant.openIdConfigUrl);
    expect(diagnoses[0]!.summary).not.toContain("(unknown)");
  });
});

describe("observationFromResult", () => {
  const result = (over: Partial<ProbeResult>): ProbeResult => ({
    target: "orders",
    probe: "valid",
    outcome: "blocked",
    expectedStatuses: [200],
    durationMs: 0,
    message: "blocked",
    startedAt: new Date(NOW).toISOString(),
    ...over,
  });

  it.each([
    [{ cause: "AADSTS7000215" }, "invalid-client-secret"],
    [{ cause: "timeout", outcome: "error" as const }, "timeout"],
    [
      { cause: "AADSTS501051", probe: "token" as const, outcome: "fail" as const, actualStatus: 400 },
      "client-not-assigned",
    ],
  ])("turns the engine's cause %j back into %s", (over, cause) => {
    expect(diagnose(observationFromResult(result(over)))?.cause).toBe(cause);
  });
});

describe("answeredByFromBody", () => {
  it.each([
    [500, '{"statusCode":500,"message":"Internal server error"}', "gateway"],
    [500, '{"statusCode":500,"message":"x","detail":"y"}', "backend"],
    [502, '{"statusCode":500,"message":"x"}', "backend"],
    [500, "<html>oops</html>", "backend"],
    [500, "", "backend"],
  ])("%i %s -> %s", (status, body, expected) => {
    expect(answeredByFromBody(status, body)).toBe(expected);
  });
});
