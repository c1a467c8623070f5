import type { TenantModel } from "./entra/model.js";
import type { ApiDefinition, BackendBehaviour } from "./apim/types.js";
import { ORDERS_API, PROBE_CLIENT, SANDBOX_TENANT_ID } from "./identities.js";

const DAY_MS = 24 * 60 * 60_000;

/**
 * Each scenario reproduces one failure cause that people troubleshooting Entra-protected APIM APIs report,
 * by changing the tenant, the API's policy or settings, or the backend, exactly as a person would
 * have misconfigured the real thing. `healthy` is the reference every other one departs from.
 */
export const SCENARIO_NAMES = [
  "healthy",
  "fail-open",
  "no-subscription-required",
  "v1-token-issuer-mismatch",
  "missing-role",
  "assignment-not-required",
  "invalid-secret",
  "backend-error",
  "slow-backend",
  "entra-ingestion",
  "certificate-expiring",
  "secret-expiring",
  "signing-key-rollover",
  "fail-open-slow-body",
  "own-app-without-role",
] as const;

export type ScenarioName = (typeof SCENARIO_NAMES)[number];

export function isScenarioName(value: string): value is ScenarioName {
  return (SCENARIO_NAMES as readonly string[]).includes(value);
}

export interface Scenario {
  name: ScenarioName;
  /** What is misconfigured, in the words of the person who did it. */
  description: string;
  /** What a correct probe reports. */
  expectation: string;
  /** Changes the default tenant; `nowMs` is the sandbox's clock, for dates relative to it. */
  tenant?: (model: TenantModel, nowMs: number) => TenantModel;
  api?: (api: ApiDefinition) => ApiDefinition;
  backend?: BackendBehaviour;
  /** Which value the sandbox hands out as PROBE_CLIENT_SECRET. */
  clientSecret?: "value" | "secret-id";
  /** Per-request deadline the sandbox hands out (PROBE_TIMEOUT_MS). */
  timeoutMs?: number;
  /** Ingestion with local authentication disabled: only the managed identity's Entra token gets results in. */
  ingestion?: "entra-only";
  /** Days the gateway's TLS certificate is valid from now (default: the sandbox's 397). */
  gatewayCertificateDays?: number;
  /** The tenant publishes its next signing key this often (on the sandbox's clock). */
  signingKeyRolloverEveryMs?: number;
}

const V2_ISSUER = `https://login.microsoftonline.com/${SANDBOX_TENANT_ID}/v2.0`;

/**
 * The API's policy as Microsoft's guidance recommends it: v2 metadata, both audiences (App ID URI and client id),
 * the v2 issuer, and the app role required. `requireRole: false` is the policy of teams
 * before they learned about "assignment required".
 */
export function ordersApiPolicyXml(options: { requireRole?: boolean } = {}): string {
  const requireRole = options.requireRole ?? true;
  const roleClaim = `
      <required-claims>
        <claim name="roles" match="any">
          <value>${ORDERS_API.role}</value>
        </claim>
      </required-claims>`;
  return policyDocument(`    <base />
    <validate-jwt header-name="Authorization" failed-validation-httpcode="401" failed-validation-error-message="Unauthorized. Access token is missing or invalid." require-scheme="Bearer">
      <openid-config url="https://login.microsoftonline.com/${SANDBOX_TENANT_ID}/v2.0/.well-known/openid-configuration" />
      <audiences>
        <audience>${ORDERS_API.appIdUri}</audience>
        <audience>${ORDERS_API.clientId}</audience>
      </audiences>
      <issuers>
        <issuer>${V2_ISSUER}</issuer>
      </issuers>${requireRole ? roleClaim : ""}
    </validate-jwt>`);
}

/** A policy with no validate-jwt: someone "temporarily" removed it while debugging a 401. */
const OPEN_POLICY_XML = policyDocument("    <base />");

/** A whole API-scope policy document around `inbound`, the other sections inheriting (`<base />`). */
function policyDocument(inbound: string): string {
  return `<policies>
  <inbound>
${inbound}
  </inbound>
  <backend>
    <base />
  </backend>
  <outbound>
    <base />
  </outbound>
  <on-error>
    <base />
  </on-error>
</policies>
`;
}

const withOrdersApi = (
  model: TenantModel,
  change: (app: TenantModel["apps"][number]) => TenantModel["apps"][number],
): TenantModel => ({
  ...model,
  apps: model.apps.map((app) => (app.clientId === ORDERS_API.clientId ? change(app) : app)),
});

export const SCENARIOS: Readonly<Record<ScenarioName, Scenario>> = {
  healthy: {
    name: "healthy",
    description:
      "Everything as Microsoft's guidance recommends: v2 tokens, assignment required, the role required by the policy, a subscription required.",
    expectation: "every probe passes",
  },
  "fail-open": {
    name: "fail-open",
    description: "The API's policy has no validate-jwt: the gateway checks the subscription key and nothing else.",
    expectation: "every token probe that must be refused gets in: outcome security",
    api: (api) => ({ ...api, policyXml: OPEN_POLICY_XML }),
  },
  "no-subscription-required": {
    name: "no-subscription-required",
    description:
      "The API does not require a subscription, so calls without a key are let through to validate-jwt (a wrong key is still refused).",
    expectation: "no-subscription-key gets in; invalid-subscription-key is still refused (401)",
    api: (api) => ({ ...api, subscriptionRequired: false }),
  },
  "v1-token-issuer-mismatch": {
    name: "v1-token-issuer-mismatch",
    description:
      "The API's app registration still issues v1 tokens (accessTokenAcceptedVersion null) while the policy expects the v2 issuer.",
    expectation: "valid fails with 401: issuer sts.windows.net vs login.microsoftonline.com/.../v2.0",
    tenant: (model) => withOrdersApi(model, (app) => ({ ...app, accessTokenAcceptedVersion: null })),
  },
  "missing-role": {
    name: "missing-role",
    description: "Assignment is not required and the probe's client was never granted the role the policy requires.",
    expectation: "valid fails with 401: the token has no roles claim",
    tenant: (model) => ({
      ...withOrdersApi(model, (app) => ({ ...app, assignmentRequired: false })),
      roleAssignments: model.roleAssignments.filter(
        (a) => !(a.clientId === PROBE_CLIENT.clientId && a.resourceClientId === ORDERS_API.clientId),
      ),
    }),
  },
  "assignment-not-required": {
    name: "assignment-not-required",
    description:
      "Assignment is not required and the policy requires no role: any app in the tenant can get a token for the API and call it.",
    expectation: "unassigned-client gets in: outcome security",
    tenant: (model) => withOrdersApi(model, (app) => ({ ...app, assignmentRequired: false })),
    api: (api) => ({ ...api, policyXml: ordersApiPolicyXml({ requireRole: false }) }),
  },
  "invalid-secret": {
    name: "invalid-secret",
    description: "PROBE_CLIENT_SECRET holds the secret's ID instead of its value (the portal shows both side by side).",
    expectation: "token blocked with AADSTS7000215; the probes that need no token still run",
    clientSecret: "secret-id",
  },
  "backend-error": {
    name: "backend-error",
    description: "The gateway accepts the call but the backend behind it answers 500.",
    expectation: "valid fails with 500 from the backend, not from the gateway",
    backend: { status: 500 },
  },
  "slow-backend": {
    name: "slow-backend",
    description: "The backend takes 30 s to answer; the probe's deadline is 2 s.",
    expectation: "valid ends at the deadline with outcome error (timeout)",
    backend: { latencyMs: 30_000 },
    timeoutMs: 2_000,
  },
  "own-app-without-role": {
    name: "own-app-without-role",
    description:
      "The probe's own app registration does not define the API's role, so its own-app token (the wrong-audience probe's) carries no roles and the policy refuses it for that, whatever its audience rule.",
    expectation:
      "wrong-audience passes but carries audience-unproven naming roles, with the one-time setup that removes it",
    tenant: (model) => ({
      ...model,
      apps: model.apps.map((app) => (app.clientId === PROBE_CLIENT.clientId ? { ...app, appRoles: [] } : app)),
      roleAssignments: model.roleAssignments.filter((a) => a.resourceClientId !== PROBE_CLIENT.clientId),
    }),
  },
  "fail-open-slow-body": {
    name: "fail-open-slow-body",
    description:
      "The API's policy has no validate-jwt, and its backend answers 200 at once but then sends the body a byte at a time (a streaming or overloaded backend).",
    expectation:
      "every token probe that must be refused is security as soon as the 200 arrives, after one request; valid ends in error (timeout)",
    api: (api) => ({ ...api, policyXml: OPEN_POLICY_XML }),
    backend: { bodyFault: "trickle" },
    timeoutMs: 2_000,
  },
  "entra-ingestion": {
    name: "entra-ingestion",
    description:
      "An Azure Policy disabled local authentication on Application Insights: only telemetry sent with an Entra token of an identity holding Monitoring Metrics Publisher is accepted.",
    expectation:
      "every probe passes and every result is accepted, sent with the managed identity's token (APPLICATIONINSIGHTS_AUTHENTICATION_STRING); without that setting ingestion answers 401 and the results are lost (exit 3) or kept (--state-dir)",
    ingestion: "entra-only",
  },
  "certificate-expiring": {
    name: "certificate-expiring",
    description:
      "The gateway's custom-domain certificate expires in 10 days and nobody renewed it (its Key Vault certificate has no auto-renewal).",
    expectation:
      "tls-certificate fails with certificate-expiring, naming the certificate, its issuer and 10 days left; every other probe passes",
    gatewayCertificateDays: 10,
  },
  "secret-expiring": {
    name: "secret-expiring",
    description: "The probe's client secret expires in 7 days and nobody has rotated it yet.",
    expectation:
      "credential-expiry fails with credential-expiring, naming the secret (by its hint) and 7 days left; every other probe passes",
    tenant: (model, nowMs) => ({
      ...model,
      apps: model.apps.map((app) =>
        app.clientId === PROBE_CLIENT.clientId
          ? {
              ...app,
              secrets: app.secrets.map((s) => ({ ...s, expiresAt: new Date(nowMs + 7 * DAY_MS).toISOString() })),
            }
          : app,
      ),
    }),
  },
  "signing-key-rollover": {
    name: "signing-key-rollover",
    description:
      "The tenant publishes a new signing key every hour, ahead of using it, as Entra does before a rollover.",
    expectation:
      "every probe passes; the first run after a new key that reads the tenant's metadata again (APIM and the probe cache it an hour) reports signing-key-rollover on the token result, naming the new key",
    signingKeyRolloverEveryMs: 60 * 60_000,
  },
};
