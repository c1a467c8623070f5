/**
 * The cause catalogue: every stable cause code a diagnosis can carry, with its one-line summary
 * template and its fix. The codes are a public interface (alert rules, dashboards and the
 * availability result's `cause` property key on them): never rename one, add new ones at the end.
 *
 * Templates name evidence fields in braces (`{receivedAudience}`); `renderTemplate` fills them from
 * the diagnosis' evidence. Evidence only ever holds observed values and token summaries, never a
 * secret, a key or a token, so rendering cannot leak one.
 */
export const CAUSE_CODES = [
  "audience-mismatch",
  "issuer-mismatch",
  "missing-role",
  "client-not-assigned",
  "token-expired",
  "signing-key-unknown",
  "invalid-client-secret",
  "client-secret-expired",
  "unknown-client",
  "unknown-resource",
  "invalid-scope",
  "unknown-tenant",
  "throttled",
  "missing-subscription-key",
  "invalid-subscription-key",
  "subscription-not-required",
  "missing-bearer-scheme",
  "gateway-open",
  "backend-error",
  "timeout",
  "tls-error",
  "dns-error",
  // Beyond the first list: causes a real run observes that none of the above names.
  "connection-error",
  "gateway-error",
  "api-not-found",
  "signature-invalid",
  "token-invalid",
  "required-claim-missing",
  "invalid-client-assertion",
  "token-request-failed",
  "unexpected-status",
  // Each failure named at the endpoint where it happened, and what a refusal without a
  // policy still tells.
  "token-refused",
  "token-endpoint-unavailable",
  "managed-identity-unavailable",
  "federated-credential-mismatch",
  "application-disabled",
  "client-service-principal-missing",
  "consent-required",
  "wrong-cloud",
  "audience-unproven",
  "accepted-open",
  "subscription-key-header",
  "no-token-validation",
  // What an effective APIM policy refuses besides the token's claims.
  "client-not-allowed",
  "ip-filtered",
  "rate-limited",
  // The live gateway against what the APIOps folder promises.
  "config-drift",
  // A 2xx that is not the answer the API should give.
  "assertion-failed",
  "slow-response",
  "error-document",
  "signing-key-rollover",
  // The token itself changed between runs.
  "token-drift",
  // Expiry forecasts.
  "certificate-expiring",
  "credential-expiring",
  // A run that used up its own budget: not the API's latency (timeout), the probe's schedule.
  "run-budget",
  // The API's scope names one of Microsoft's own resources (Graph, ARM, Key Vault...): the token is that resource's.
  "first-party-scope",
  // The token endpoint answered with something that is not a JWT: every later probe reads its claims.
  "token-not-jwt",
] as const;

export type CauseCode = (typeof CAUSE_CODES)[number];

export interface CauseEntry {
  /** One line, evidence placeholders in braces. */
  summary: string;
  /** What to change, where. */
  fix: string;
  /** Alternative texts for a recognised special case (e.g. a v1/v2 issuer mismatch). */
  variants?: Readonly<Record<string, { summary?: string; fix?: string }>>;
}

const SECRET_SETTING = "{secretSetting}";

export const CATALOGUE: Readonly<Record<CauseCode, CauseEntry>> = {
  "audience-mismatch": {
    summary: "{probe}: token audience {receivedAudience} is not accepted; expected {expectedAudience}",
    fix:
      "Request the token for the API (scope <App ID URI or client ID>/.default, PROBE_API_SCOPE), or list the " +
      "token's audience in the policy's <audiences>. v2 tokens carry the API's client ID, v1 tokens the App ID " +
      "URI that was requested: list both.",
  },
  "issuer-mismatch": {
    summary: "{probe}: token issuer {receivedIssuer} is not accepted; expected {expectedIssuer}",
    fix: "Make the policy's <issuers> (or its openid-config URL) name the tenant and token version the API's app registration issues.",
    variants: {
      version: {
        summary:
          "{probe}: v{tokenVersion} token (issuer {receivedIssuer}) but the API expects v{expectedVersion} issuer {expectedIssuer}",
        fix:
          "In the API's app registration manifest set accessTokenAcceptedVersion to {expectedVersion} (null means v1; " +
          "takes a few minutes), then get a new token; or make the policy's openid-config URL and <issuers> v{tokenVersion}.",
      },
      tenant: {
        summary:
          "{probe}: token issued by tenant {receivedTenant}, the API expects tenant {expectedTenant} ({expectedIssuer})",
        fix: "Request the token from the API's tenant (PROBE_TENANT_ID), or correct the tenant in the policy's openid-config URL and <issuers>.",
      },
    },
  },
  "missing-role": {
    summary: "{probe}: token of client {client} lacks role {expectedRole} (roles: {receivedRoles})",
    fix:
      "In the client's app registration add the API's application permission {expectedRole} under API permissions and grant " +
      "admin consent (an app role assignment), then get a new token. Set 'Assignment required' on the API's enterprise application.",
  },
  "client-not-assigned": {
    summary:
      "{probe}: Entra refused the token (AADSTS501051): client {clientId} has no app role on the API, which requires assignment",
    fix:
      "In the client's app registration add the API's application permission (app role) under API permissions and grant " +
      "admin consent; if the role is missing, create it under the API registration's App roles (allowed member type Applications).",
  },
  "token-expired": {
    summary: "{probe}: token expired at {exp} ({expiredForSeconds} s before the request)",
    fix:
      "Use a fresh token: check the probe host's clock (NTP) and that no cached or pasted token outlives its exp. " +
      "A large clock-skew in the policy is not the fix.",
  },
  "signing-key-unknown": {
    summary: "{probe}: token signing key kid {kid} is not in the tenant's published keys ({jwksKids})",
    fix:
      "The key has rotated away or the token comes from another tenant or cloud. Get a new token; for the expired-token " +
      "probe let the probe harvest its own or refresh PROBE_EXPIRED_TOKEN with `apim-smoke token --raw`.",
    variants: {
      "expired-token": {
        summary:
          "expired-token passed but proves nothing about expiry: its kid {kid} is no longer in the tenant's keys ({jwksKids})",
      },
    },
  },
  "invalid-client-secret": {
    summary: "{probe}: Entra refused the client secret (AADSTS7000215) of client {clientId}",
    fix:
      `Set ${SECRET_SETTING} to the secret's Value shown once at creation, not its Secret ID; ` +
      "if the value is lost, create a new secret under Certificates & secrets.",
  },
  "client-secret-expired": {
    summary: "{probe}: the client secret of client {clientId} has expired (AADSTS7000222)",
    fix: `Create a new secret under the client registration's Certificates & secrets, update ${SECRET_SETTING}, and alert before the next expiry.`,
  },
  "unknown-client": {
    summary: "{probe}: Entra does not know client {clientId} in tenant {tenant} (AADSTS700016)",
    fix: "Check PROBE_CLIENT_ID (the Application (client) ID of the probe's registration) and PROBE_TENANT_ID; a registration in another tenant needs consent here.",
  },
  "unknown-resource": {
    summary: "{probe}: Entra found no API for scope {scope} in the tenant (AADSTS500011)",
    fix: "Set PROBE_API_SCOPE to the API registration's Application ID URI (or client ID) followed by /.default, exactly as under Expose an API.",
  },
  "invalid-scope": {
    summary: "{probe}: Entra refused scope {scope} (AADSTS{aadsts})",
    fix: "Client-credentials tokens need <App ID URI or client ID>/.default, e.g. api://orders-api/.default, not a named scope like /access.",
  },
  "unknown-tenant": {
    summary: "{probe}: Entra does not know tenant {tenant} (AADSTS90002)",
    fix: "Set PROBE_TENANT_ID to the Directory (tenant) ID GUID or a verified domain, and PROBE_AUTHORITY_HOST to the right cloud.",
  },
  throttled: {
    summary: "{probe}: throttled by {throttledBy} (HTTP 429{retryAfter})",
    fix: "Probe less often or with fewer targets; the probe reuses cached tokens, so repeated token throttling means several probes share one client.",
  },
  "missing-subscription-key": {
    summary: "{probe}: APIM refused the call for a missing subscription key ({actualStatus})",
    fix: "Set the target's subscription key setting (PROBE_SUBSCRIPTION_KEY) to a key of a subscription that includes this API, or turn off 'Subscription required' on the API if keys are not used.",
  },
  "invalid-subscription-key": {
    summary:
      "{probe}: APIM refused the subscription key ({actualStatus}): wrong, regenerated, or its subscription is inactive or not for this API",
    fix: "Copy a current primary or secondary key of an active subscription scoped to this API or its product into the target's subscription key setting.",
  },
  "subscription-not-required": {
    summary: "{probe}: got {actualStatus} without a valid subscription key: the API does not require a subscription",
    fix: "Turn on 'Subscription required' in the API's settings in APIM; if the API is meant to be keyless, expect 2xx for the key probes in the targets file.",
  },
  "missing-bearer-scheme": {
    summary: "{probe}: the token sent as 'Authorization: Bearer' was not found where the check looks ({evidenceFrom})",
    fix:
      'Make the policy read the Authorization header with require-scheme="Bearer", and make sure no policy strips or ' +
      "rewrites Authorization before the backend.",
  },
  "gateway-open": {
    summary: "{probe}: got {actualStatus} where a refusal was expected: the {missingCheck} check is missing",
    fix: "{missingCheckFix}",
  },
  "backend-error": {
    summary: "{probe}: the backend behind APIM answered {actualStatus}",
    fix: "The gateway let the call through: look at the backend's logs for request id {requestId}; APIM is not at fault.",
  },
  timeout: {
    summary: "{probe}: no complete answer within the deadline ({transportDetail})",
    fix: "Check the backend's latency and APIM's forward-request timeout; raise PROBE_TIMEOUT_MS only if slow answers are acceptable.",
  },
  "tls-error": {
    summary: "{probe}: TLS handshake failed ({transportDetail})",
    fix: "Check the host's certificate chain and name; for a private CA, point NODE_EXTRA_CA_CERTS at its PEM. Never disable verification.",
    variants: {
      // The caller's trust, not Entra's outage: a private CA or a TLS-inspecting proxy between the probe and Entra.
      "token-endpoint": {
        summary:
          "{probe}: the certificate Entra's token endpoint ({authorityHost}) presented is not trusted by the probe (TLS verification failed; not retried)",
        fix:
          "A TLS-inspecting proxy or a private CA sits between the probe and {authorityHost}: point NODE_EXTRA_CA_CERTS at that CA's PEM " +
          "(an app setting, or in the settings file) and restart. Never disable verification. Entra, the API and APIM are not at fault.",
      },
    },
  },
  "dns-error": {
    summary: "{probe}: host name did not resolve ({transportDetail})",
    fix: "Check the host in PROBE_API_URL (or PROBE_AUTHORITY_HOST), and for a private endpoint that the probe's network resolves it.",
  },
  "connection-error": {
    summary: "{probe}: connection refused or reset ({transportDetail})",
    fix: "Check that the host is up and reachable from the probe's network (firewall, private endpoint, port).",
  },
  "gateway-error": {
    summary: "{probe}: APIM itself answered {actualStatus} ({apimMessage})",
    fix: "APIM failed before or while forwarding (backend unreachable, policy error): open the request {requestId} in APIM's diagnostics or trace.",
  },
  "api-not-found": {
    summary: "{probe}: APIM answered {actualStatus}: no API or operation matches the URL ({apimMessage})",
    fix: "Check PROBE_API_URL against the API's URL suffix and the operation's method and path in APIM, and that the API revision is current.",
  },
  "signature-invalid": {
    summary: "{probe}: token signature rejected ({evidenceFrom})",
    fix: "The token was altered or signed by a key the API does not trust: request a new token from the API's tenant and check the policy's signing keys.",
  },
  "token-invalid": {
    summary: "{probe}: the API could not read the token as a JWT ({evidenceFrom})",
    fix: "Send the access token (not an ID token or the token response), whole, as 'Authorization: Bearer <token>'.",
  },
  "required-claim-missing": {
    summary:
      "{probe}: token claim {claim} does not satisfy the policy (expected {expectedValues}, received {receivedValues})",
    fix: "Either the token is for the wrong client or version (azp is v2, appid v1), or the policy's <required-claims> is stale: align them.",
  },
  "invalid-client-assertion": {
    summary: "{probe}: Entra refused the client's certificate or federated assertion (AADSTS{aadsts})",
    fix: "Upload the probe's current certificate to the client registration (or fix the federated credential's issuer, subject and audience) and check the host's clock.",
  },
  "token-request-failed": {
    summary: "{probe}: the token request failed ({tokenFailure})",
    fix: "Look up the AADSTS code or OAuth error in Entra's error reference; check PROBE_TENANT_ID, PROBE_CLIENT_ID, the credential and PROBE_API_SCOPE.",
  },
  "unexpected-status": {
    summary: "{probe}: expected {expectedStatus}, got {actualStatus}{observedSuffix}",
    fix: "Compare the target's expected statuses with the API's behaviour; give the target its policy file so a 401 is explained by the exact failing rule.",
  },
  "token-refused": {
    summary:
      "{probe}: the gateway refused the token ({actualStatus}) without saying which rule; most likely first: {hypotheses}",
    fix: "{firstFix} To name the exact rule, give the target the API's policy (PROBE_POLICY_FILE or the targets file's policyFile).",
  },
  "token-endpoint-unavailable": {
    summary: "{probe}: Entra's token endpoint did not give a usable answer ({tokenFailure}){retriedNote}",
    fix:
      "An Entra 5xx, timeout or reset is on Microsoft's side and usually transient: check Azure status and the probe's " +
      "outbound network to {authorityHost} (proxy, firewall, DNS). Nothing in the API or APIM is at fault.",
  },
  "managed-identity-unavailable": {
    summary: "{probe}: the managed identity gave no token for the federated credential ({tokenFailure})",
    fix:
      "Check that the Function app has the user-assigned identity (PROBE_MANAGED_IDENTITY_CLIENT_ID is its client ID) and " +
      "that the identity endpoint (IDENTITY_ENDPOINT) is reachable; locally there is none unless you emulate it.",
  },
  "federated-credential-mismatch": {
    summary:
      "{probe}: Entra found no federated credential on client {clientId} matching the managed identity's assertion (AADSTS{aadsts})",
    fix:
      "In the client registration's Certificates & secrets > Federated credentials, the issuer must be " +
      "https://<authority>/{tenant}/v2.0, the subject the managed identity's object (principal) ID, and the audience " +
      "the cloud's token-exchange audience ({federatedAudience}).",
  },
  "application-disabled": {
    summary: "{probe}: Entra refused client {clientId}: the application is disabled (AADSTS7000112)",
    fix: "Enable sign-in for the client's enterprise application (Enterprise applications > Properties > Enabled for users to sign-in) or use an enabled client.",
  },
  "client-service-principal-missing": {
    summary: "{probe}: client {clientId} has no service principal in tenant {tenant} (AADSTS7000229)",
    fix: "Create the client's service principal (enterprise application) in the tenant, e.g. az ad sp create --id <client id>, then grant its API permissions.",
  },
  "consent-required": {
    summary: "{probe}: no admin consent for client {clientId} to the API (AADSTS65001)",
    fix: "In the client registration's API permissions, grant admin consent for the API's application permission.",
  },
  "wrong-cloud": {
    summary: "{probe}: tenant {tenant} belongs to another national cloud than {authorityHost} (AADSTS90038)",
    fix: "Set PROBE_AUTHORITY_HOST to the tenant's cloud (login.microsoftonline.us for US Government, login.partner.microsoftonline.cn for China) and PROBE_CLOUD to match.",
  },
  "accepted-open": {
    summary:
      "{probe}: got {actualStatus}: the gateway let this request in, and the target accepts the API as open by design ({acceptOpenReason})",
    fix: "Nothing to do while the API is meant to be open. Once it validates tokens (or keys), remove acceptOpen from its target so that a request let in is reported as security again.",
  },
  "subscription-key-header": {
    summary:
      "{probe}: APIM found no subscription key ({actualStatus}): this API takes its key in header {expectedKeyHeader}, the probe sent it in {sentKeyHeader}",
    fix: "Name the API's key header: subscriptionKeyHeader \"{expectedKeyHeader}\" on the target in the targets file, or PROBE_SUBSCRIPTION_KEY_HEADER={expectedKeyHeader} for the single-target settings (an APIOps folder's apiInformation.json subscriptionKeyParameterNames is read by itself).",
  },
  "audience-unproven": {
    summary: "wrong-audience was refused, but that proves nothing about the audience rule: {unprovenReason}",
    fix: "{unprovenFix}",
  },
  "client-not-allowed": {
    summary:
      "{probe}: the API's validate-azure-ad-token does not list the caller in client-application-ids ({preflightDetail})",
    fix: "Add the probe's client ID to <client-application-ids> of the API's validate-azure-ad-token (or probe with a client it lists); every caller of the API needs its ID there.",
  },
  "ip-filtered": {
    summary: "{probe}: APIM's ip-filter refused the caller ({apimMessage})",
    fix: "The API is up: allow the probe's outbound address in the ip-filter policy (or run the probe from an allowed network, e.g. with VNet integration and a NAT gateway's fixed IP).",
  },
  "rate-limited": {
    summary: "{probe}: APIM's rate-limit or quota policy refused the call ({apimMessage})",
    fix: "The API is up: give the probe's subscription its own key (rate-limit-by-key counts per key) or a higher limit, or probe less often.",
  },
  "assertion-failed": {
    summary: "{probe}: got {actualStatus}, but {assertion} expected {expected}, received {received}",
    fix: "The API answers, but not as the target's assertions expect: check the backend's data and version, or update the assertion in the targets file.",
  },
  "slow-response": {
    summary: "{probe}: got {actualStatus} in {received}, expected {expected}",
    fix: "The API is up but slow: look at the backend's latency and APIM's timing in App Insights for request id {requestId}; raise maxLatencyMs only if that is acceptable.",
  },
  "error-document": {
    summary: "{probe}: got {actualStatus}, but {assertion} is {received}: the call failed behind a success status",
    fix: "A policy answers with APIM's error body but no error status (typically an on-error return-response without set-status, or a set-body in on-error over a 200): find it with APIM's trace or App Insights for request id {requestId}, fix the failure it reports, and give that answer its real status with set-status.",
  },
  "signing-key-rollover": {
    summary:
      "token: the tenant's signing keys changed since the last run (new: {addedKids}; gone: {removedKids}); the token was signed with {kid}",
    fix: "Nothing to do if every API takes its keys from openid-config; a policy with keys pinned in issuer-signing-keys must be updated now (apim-smoke policy check warns about them).",
  },
  "token-drift": {
    summary: "token: for {scope}, the token changed since the last run: {drift}",
    fix:
      "Someone changed the app registrations: roles removed mean the app role assignment was revoked (Entra admin center > " +
      "Enterprise applications > the API > Users and groups, or the client's API permissions with admin consent); a new " +
      "version means accessTokenAcceptedVersion changed in the API's manifest, and with it the issuer. Restore it, or update " +
      "the APIM policy (audiences, issuers, required claims) before the gateway starts refusing callers.",
  },
  "certificate-expiring": {
    summary:
      "tls-certificate: {origin} presents {subject}, issued by {issuer}, which expires on {expiresOn}: {daysLeft} days left (under PROBE_CERT_WARN_DAYS, {warnDays})",
    fix:
      "Renew the gateway's certificate before it expires. For an APIM custom domain: renew it in Key Vault (APIM picks up a new " +
      "version of a Key Vault certificate within 4 hours) or upload the renewed certificate under API Management > Custom domains, " +
      "and check that the domain shows the new expiry. The default *.azure-api.net certificate is Microsoft's to renew.",
  },
  "credential-expiring": {
    summary:
      "credential-expiry: {item} expires on {expiresOn}: {daysLeft} days left (under PROBE_CERT_WARN_DAYS, {warnDays})",
    fix:
      "Rotate it before it expires: Entra admin center > App registrations > the app (client id {clientId}) > Certificates & secrets: " +
      "add a new secret or certificate, store it where the probe reads it ({setting}, a Key Vault secret in Azure), and delete the old " +
      "one once the probe passes with the new. A federated credential (PROBE_CREDENTIAL=managed-identity) has nothing to expire.",
  },
  "config-drift": {
    summary:
      "{probe}: the gateway {observed}, but {artifact} promises {promise}: what is published differs from the repository",
    fix:
      "Publish the APIOps folder again and check the publisher's log for that artifact (a change made in the portal, or an " +
      "artifact the pipeline skipped, is not in the gateway); then rerun the probe.",
  },
  "run-budget": {
    summary: "{probe}: the run's own budget ran out before this probe had its answer{budgetDetail}",
    fix:
      "The run, not this API, ran out of time: raise PROBE_RUN_BUDGET_MS or PROBE_TARGET_CONCURRENCY, probe fewer targets per run, or " +
      "shorten PROBE_TIMEOUT_MS so one slow API cannot hold the others. If it recurs with fast APIs, a request never settled: report it.",
  },
  "first-party-scope": {
    summary:
      "{probe}: the token is for {resource} (aud {receivedAudience}), one of Microsoft's own resources, not for the API: the target's scope is not the API's",
    fix:
      "Set the target's scope (PROBE_API_SCOPE, or the targets file's scope) to the API's own: its Application ID URI followed by /.default, " +
      "e.g. api://<the API's client id>/.default (the API's app registration, Expose an API). A {resource} token is refused by every API but " +
      "{resource} itself, whatever the token version or the policy's audiences, so no accessTokenAcceptedVersion change helps.",
  },
  "token-not-jwt": {
    summary: "{probe}: the token endpoint at {authorityHost} answered with an access token that is not a JWT",
    fix:
      "Entra ID issues JWT access tokens (three base64url parts), the only kind APIM's validate-jwt and validate-azure-ad-token accept: " +
      "check that PROBE_AUTHORITY_HOST is Entra's authority for the cloud (or an emulator that issues JWTs) and that no proxy rewrites the token endpoint's answers.",
  },
  "no-token-validation": {
    summary: "{probe}: got {actualStatus}: the API validates no token at all (no-token got in too)",
    fix:
      'Add token validation to the API\'s inbound policy, for this tenant: <validate-azure-ad-token tenant-id="{tenant}"> ' +
      'with <client-application-ids> listing the callers, or <validate-jwt header-name="Authorization" require-scheme="Bearer"> ' +
      'with <openid-config url="{openIdConfigUrl}" />, <audiences> (the API\'s App ID URI and client ID) and the app role in <required-claims>.',
  },
};

/**
 * Variants any cause may take when the evidence is a refusal's own words rather than the token's
 * values: a backend's WWW-Authenticate challenge, or the preflight's failing policy rule.
 */
export const SHARED_VARIANTS: Readonly<Record<string, { summary?: string; fix?: string }>> = {
  "backend-challenge": { summary: "{probe}: the backend refused the token ({evidenceFrom})" },
  "policy-rule": { summary: "{probe}: the policy refused the token ({evidenceFrom})" },
};

/** Fills `{name}` placeholders from evidence; a placeholder without evidence reads `(unknown)`. */
export function renderTemplate(template: string, evidence: Readonly<Record<string, string>>): string {
  return template.replace(/\{([A-Za-z]+)\}/g, (_whole, name: string) =>
    Object.hasOwn(evidence, name) ? evidence[name]! : "(unknown)",
  );
}
