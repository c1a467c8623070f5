import { describeDrift, driftKinds } from "../tokens/drift.js";
import { KEY_PROBES, SENDS_TOKEN, TOKEN_PROBES, type ProbeName } from "../../probe-matrix/names.js";
import type { Diagnosis } from "../results/types.js";
import { causeOfTokenFailure, THROTTLED_STATUS } from "./aadsts.js";
import { CATALOGUE, renderTemplate, SHARED_VARIANTS, type CauseCode } from "./catalogue.js";
import type { Expectations } from "./expectations.js";
import { explainToken, isoSeconds, joinList, type TokenFinding } from "./explain-token.js";
import type { PreflightFailure, ProbeObservation } from "./observation.js";
import { refusalHypotheses } from "./hypotheses.js";
import { causeOfBearerChallenge, parseChallenge } from "./www-authenticate.js";
import { firstPartyResourceOf, type FirstPartyResource } from "../../entra/first-party.js";

type Evidence = Record<string, string>;

/** Builds a diagnosis from the catalogue. `render` holds texts only the templates need (not evidence). */
export function buildDiagnosis(
  cause: CauseCode,
  evidence: Evidence,
  options: { variant?: string; render?: Evidence } = {},
): Diagnosis {
  const entry = CATALOGUE[cause];
  const variant =
    options.variant === undefined ? undefined : (entry.variants?.[options.variant] ?? SHARED_VARIANTS[options.variant]);
  const fields = { ...evidence, ...options.render };
  return {
    cause,
    summary: renderTemplate(variant?.summary ?? entry.summary, fields),
    fix: renderTemplate(variant?.fix ?? entry.fix, fields),
    evidence,
  };
}

/** What a rejecting probe's 2xx says is missing from the gateway, and how to add it. */
const MISSING_CHECKS: Readonly<Partial<Record<ProbeName, { check: string; fix: string }>>> = {
  "no-subscription-key": {
    check: "subscription key",
    fix: "Turn on 'Subscription required' in the API's settings in APIM (or expect 2xx for the key probes if the API is meant to be keyless).",
  },
  "invalid-subscription-key": {
    check: "subscription key",
    fix: "Turn on 'Subscription required' in the API's settings in APIM (or expect 2xx for the key probes if the API is meant to be keyless).",
  },
  "no-token": {
    check: "validate-jwt",
    fix: "Add validate-jwt to the API's inbound policy with openid-config, <audiences>, <issuers> and the required role (check it with `apim-smoke policy check`).",
  },
  "wrong-audience": {
    check: "audience",
    fix: "Add <audiences> to validate-jwt listing only the API's App ID URI and client ID.",
  },
  "expired-token": {
    check: "expiry",
    fix: 'Remove require-expiration-time="false" from validate-jwt and keep clock-skew at most 300 s.',
  },
  "forged-signature": {
    check: "signature",
    fix: 'Remove require-signed-tokens="false" from validate-jwt and take signing keys only from the tenant\'s openid-config.',
  },
  "alg-none": {
    check: "unsigned-token (alg none)",
    fix: 'Remove require-signed-tokens="false" from validate-jwt: unsigned tokens must be refused.',
  },
  "unassigned-client": {
    check: "role",
    fix: "Require the app role in validate-jwt (<required-claims><claim name=\"roles\">) and set 'Assignment required' on the API's enterprise application.",
  },
};

/**
 * Explains one probe result from what was observed. Undefined for `pass` and `skipped`, except the
 * one pass that proves nothing: an expired-token probe whose token's key has left the tenant's JWKS.
 * Pure: no clock, no I/O; `observation.at` judges `exp`.
 */
export function diagnose(observation: ProbeObservation, expectations?: Expectations): Diagnosis | undefined {
  const o = observation;
  if (o.outcome === "skipped") return undefined;
  if (o.outcome === "pass") return diagnosePass(o);
  // The run's own budget, wherever the request was going: not the endpoint's fault, and not a timeout of it.
  if (o.transportFailure !== undefined && o.runBudget)
    return buildDiagnosis("run-budget", base(o), { render: { budgetDetail: "" } });
  if (o.transportFailure !== undefined)
    return o.failedAt === "token-endpoint" ? diagnoseTokenEndpointTransport(o) : diagnoseTransport(o);
  if (o.tokenFailure !== undefined) return diagnoseTokenFailure(o);
  if (o.outcome === "security") return diagnoseOpenGateway(o);
  if (o.expiring) return buildDiagnosis(o.expiring.cause, { ...base(o), ...o.expiring.evidence });
  if (o.assertionFailure) {
    const { cause, ...evidence } = o.assertionFailure;
    return buildDiagnosis(cause, { ...base(o), ...evidence });
  }
  if (o.actualStatus === undefined) {
    return buildDiagnosis("unexpected-status", base(o), { render: { observedSuffix: " (no HTTP answer)" } });
  }
  // Before any rule-by-rule reading: a token for Graph or ARM fails every rule at once (audience,
  // issuer, version, signature), and each rule's own fix would point somewhere else.
  const firstParty =
    o.probe === "valid" && (o.actualStatus === 401 || o.actualStatus === 403)
      ? firstPartyTokenOf(o, expectations)
      : undefined;
  if (firstParty) {
    return buildDiagnosis("first-party-scope", {
      ...base(o),
      resource: firstParty.name,
      receivedAudience: joinList(asList(o.token!.aud!)),
    });
  }
  return diagnoseAnswer(o, o.actualStatus, expectations);
}

/**
 * The Microsoft first-party resource the probe's token is for, unless the API expects exactly that
 * audience (an API in front of, say, Azure OpenAI that takes the caller's own Cognitive Services token).
 */
function firstPartyTokenOf(
  o: ProbeObservation,
  expectations: Expectations | undefined,
): FirstPartyResource | undefined {
  if (o.token?.aud === undefined) return undefined;
  const audiences = asList(o.token.aud);
  const resource = audiences.map(firstPartyResourceOf).find((r) => r !== undefined);
  if (!resource) return undefined;
  // Only a policy says what the API accepts; audiences derived from the settings are the scope itself.
  const expected =
    expectations?.source === "policy" ? (expectations.audiences ?? []).map((a) => firstPartyResourceOf(a)) : [];
  return expected.includes(resource) ? undefined : resource;
}

/**
 * Diagnoses a whole run's observations (same order). Adds what only several probes show together:
 * both key probes getting in means the API does not require a subscription at all.
 */
export function diagnoseRun(
  observations: readonly ProbeObservation[],
  expectations?: Expectations,
  tenant?: TenantContext,
  promises?: FolderPromises,
): (Diagnosis | undefined)[] {
  // The key-less request got in while a wrong key is still refused (or also got in): the API does
  // not require a subscription. APIM refuses an invalid key even then (docs/REFERENCE.md §7).
  const keyless = observations.find((o) => o.probe === "no-subscription-key");
  const wrongKey = observations.find((o) => o.probe === "invalid-subscription-key");
  const noSubscription =
    keyless?.outcome === "security" &&
    (wrongKey === undefined || wrongKey.outcome === "security" || wrongKey.outcome === "pass");
  const keyProbes = noSubscription ? [keyless, ...(wrongKey?.outcome === "security" ? [wrongKey] : [])] : [];
  // A request with no token at all got in: nothing validates tokens, so every token probe that got
  // in has that one cause and one fix (add validation), not per-attribute advice for an element
  // that does not exist.
  const noValidation = observations.some((o) => o.probe === "no-token" && o.outcome === "security");
  const valid = observations.find((o) => o.probe === "valid");
  const firstPartyValid = valid ? firstPartyTokenOf(valid, expectations) : undefined;
  return observations.map((o) => {
    // What the APIOps folder promises and the gateway does not do: the publish drifted from the repository.
    if (promises?.subscriptionRequired && noSubscription && keyProbes.includes(o) && promises.subscriptionArtifact) {
      return drift(
        o,
        promises.subscriptionArtifact,
        "subscriptionRequired: true",
        "let a request without a subscription key in",
      );
    }
    if (noValidation && o.outcome === "security" && TOKEN_PROBES.includes(o.probe) && promises?.validationArtifact) {
      return drift(o, promises.validationArtifact, "token validation", "let a request without a token in");
    }
    if (noSubscription && keyProbes.includes(o)) return buildDiagnosis("subscription-not-required", base(o));
    if (noValidation && o.outcome === "security" && TOKEN_PROBES.includes(o.probe)) return noTokenValidation(o, tenant);
    // Comparing with a valid token that is not the API's proves nothing either way: say why, once.
    if (o.probe === "wrong-audience" && o.audienceUnproven && firstPartyValid) {
      return buildDiagnosis("audience-unproven", base(o), {
        render: {
          unprovenReason: `the valid token is for ${firstPartyValid.name}, not the API, so there is no API token to compare it with`,
          unprovenFix: "Set the API's own scope first (see the valid probe: first-party-scope), then rerun.",
        },
      });
    }
    return diagnose(o, expectations);
  });
}

/** What an APIOps folder says of a target's API, with the artifact that says it (for config-drift). */
export interface FolderPromises {
  subscriptionRequired: boolean;
  /** The API's own subscription key header (`subscriptionKeyParameterNames.header`), when it renames it. */
  subscriptionKeyHeader?: string;
  /** The apiInformation.json that says whether a subscription is required. */
  subscriptionArtifact?: string;
  /** The policy file and line of the (first unconditional) token validation, when there is one. */
  validationArtifact?: string;
}

function drift(o: ProbeObservation, artifact: string, promise: string, observed: string): Diagnosis {
  return buildDiagnosis("config-drift", { ...base(o), artifact, promise, observed });
}

/** What a fix may name of the tenant: its id and the v2 metadata URL on its cloud's real authority. */
export interface TenantContext {
  tenantId: string;
  openIdConfigUrl: string;
}

function noTokenValidation(o: ProbeObservation, tenant: TenantContext | undefined): Diagnosis {
  const evidence: Evidence = { ...base(o), missingCheck: "token validation" };
  if (tenant) evidence.tenant = tenant.tenantId;
  return buildDiagnosis("no-token-validation", evidence, {
    render: {
      tenant: tenant?.tenantId ?? "<tenant id>",
      openIdConfigUrl:
        tenant?.openIdConfigUrl ??
        "https://login.microsoftonline.com/<tenant id>/v2.0/.well-known/openid-configuration",
    },
  });
}

function diagnosePass(o: ProbeObservation): Diagnosis | undefined {
  // A changed token outranks a rollover: a rollover alone changes only the kid, and says so below.
  if (
    o.probe === "token" &&
    o.tokenDrift &&
    (!o.signingKeyChange || driftKinds(o.tokenDrift).some((k) => k !== "signing-key"))
  ) {
    return buildDiagnosis("token-drift", {
      ...base(o),
      ...(o.scope !== undefined ? { scope: o.scope } : {}),
      drift: describeDrift(o.tokenDrift),
      driftKinds: driftKinds(o.tokenDrift).join(","),
    });
  }
  if (o.probe === "token" && o.signingKeyChange) {
    return buildDiagnosis("signing-key-rollover", {
      ...base(o),
      addedKids: o.signingKeyChange.added.join(", ") || "none",
      removedKids: o.signingKeyChange.removed.join(", ") || "none",
      ...(o.token?.kid ? { kid: o.token.kid } : {}),
    });
  }
  if (o.acceptedOpen !== undefined) {
    return buildDiagnosis("accepted-open", { ...base(o), acceptOpenReason: bounded(o.acceptedOpen) });
  }
  if (o.probe === "wrong-audience" && o.audienceUnproven) {
    const differences = o.audienceUnproven.differences.join(",");
    return buildDiagnosis(
      "audience-unproven",
      { ...base(o), ...(differences ? { differences } : {}) },
      {
        render: { unprovenReason: o.audienceUnproven.reason, unprovenFix: o.audienceUnproven.fix },
      },
    );
  }
  const kid = o.token?.kid;
  if (o.probe === "expired-token" && o.jwksKids && kid !== undefined && !o.jwksKids.includes(kid)) {
    return buildDiagnosis(
      "signing-key-unknown",
      { ...base(o), kid, jwksKids: joinList(o.jwksKids) },
      { variant: "expired-token" },
    );
  }
  return undefined;
}

const TRANSPORT_CAUSES = {
  timeout: "timeout",
  dns: "dns-error",
  tls: "tls-error",
  connection: "connection-error",
} as const;

function diagnoseTransport(o: ProbeObservation): Diagnosis {
  const kind = o.transportFailure!;
  return buildDiagnosis(
    TRANSPORT_CAUSES[kind],
    { ...base(o), transport: kind },
    { render: { transportDetail: `transport ${kind}` } },
  );
}

/** A timeout, reset or DNS failure on the way to Entra's token endpoint: Entra's side or the network's, never the API's. */
function diagnoseTokenEndpointTransport(o: ProbeObservation): Diagnosis {
  const kind = o.transportFailure!;
  const evidence: Evidence = { ...base(o), transport: kind, endpoint: "token endpoint" };
  if (o.authorityHost !== undefined) evidence.authorityHost = o.authorityHost;
  if (o.tenant !== undefined) evidence.tenant = o.tenant;
  // A certificate the probe does not trust is its own trust configuration, and a retry cannot change it.
  if (kind === "tls") return buildDiagnosis("tls-error", evidence, { variant: "token-endpoint" });
  // The network client retries an Entra 5xx only; a transport failure is reported as it happened.
  return buildDiagnosis("token-endpoint-unavailable", evidence, {
    render: { tokenFailure: `transport ${kind}`, retriedNote: "" },
  });
}

function diagnoseTokenFailure(o: ProbeObservation): Diagnosis {
  const failure = o.tokenFailure!;
  const cause = causeOfTokenFailure(failure);
  const evidence: Evidence = { ...base(o) };
  // A token failure's status is the token endpoint's, not the API's.
  delete evidence.actualStatus;
  if (failure.aadsts !== undefined) evidence.aadsts = String(failure.aadsts);
  if (failure.oauthError !== undefined) evidence.oauthError = failure.oauthError;
  if (failure.status !== undefined) evidence.tokenStatus = String(failure.status);
  if (failure.retryAfterSeconds !== undefined) evidence.retryAfterSeconds = String(failure.retryAfterSeconds);
  if (o.clientId !== undefined) evidence.clientId = o.clientId;
  if (o.scope !== undefined) evidence.scope = o.scope;
  if (o.tenant !== undefined) evidence.tenant = o.tenant;
  if (o.authorityHost !== undefined) evidence.authorityHost = o.authorityHost;
  if (cause === "federated-credential-mismatch" && o.federatedAudience !== undefined)
    evidence.federatedAudience = o.federatedAudience;
  const tokenFailure =
    failure.aadsts !== undefined
      ? `AADSTS${failure.aadsts}`
      : (failure.oauthError ?? (failure.status !== undefined ? `HTTP ${failure.status}` : "no answer"));
  return buildDiagnosis(cause, evidence, {
    render: {
      tokenFailure,
      throttledBy: "the Entra token endpoint",
      retriedNote: failure.retried ? "; it was retried once" : "",
      retryAfter: failure.retryAfterSeconds === undefined ? "" : `, retry after ${failure.retryAfterSeconds} s`,
      secretSetting:
        o.secretSetting ?? (o.probe === "unassigned-client" ? "PROBE_UNASSIGNED_CLIENT_SECRET" : "PROBE_CLIENT_SECRET"),
    },
  });
}

function diagnoseOpenGateway(o: ProbeObservation): Diagnosis {
  const missing = MISSING_CHECKS[o.probe];
  const evidence: Evidence = { ...base(o), missingCheck: missing?.check ?? "refusal" };
  if (o.token) {
    if (o.probe === "wrong-audience" && o.token.aud !== undefined)
      evidence.receivedAudience = joinList(asList(o.token.aud));
    if (o.probe === "expired-token" && o.token.exp !== undefined) evidence.exp = isoSeconds(o.token.exp);
    if (o.probe === "alg-none" || o.probe === "forged-signature") evidence.alg = o.token.alg ?? "none";
    if (o.probe === "unassigned-client") {
      if (o.token.client !== undefined) evidence.client = o.token.client;
      evidence.receivedRoles = o.token.roles && o.token.roles.length > 0 ? joinList(o.token.roles) : "none";
    }
  }
  return buildDiagnosis("gateway-open", evidence, {
    render: { missingCheckFix: missing?.fix ?? "Make the gateway refuse this request." },
  });
}

function diagnoseAnswer(o: ProbeObservation, status: number, expectations: Expectations | undefined): Diagnosis {
  const evidence = base(o);
  // APIM's own refusals by policy ([A] the policies' pages): named, never "the API is down".
  if (o.answeredBy !== "backend" && o.apimMessage !== undefined) {
    if (ipFilterRefusal({ ...o, status })) return buildDiagnosis("ip-filtered", evidence);
    if (status === THROTTLED_STATUS && /rate limit is exceeded|out of call volume quota/i.test(o.apimMessage))
      return buildDiagnosis("rate-limited", evidence);
  }
  if (status === THROTTLED_STATUS) {
    return buildDiagnosis("throttled", evidence, {
      render: {
        throttledBy: o.answeredBy === "backend" ? "the backend" : "APIM (rate-limit policy or quota)",
        retryAfter: "",
      },
    });
  }
  if (apiNotFoundRefusal({ ...o, status })) return buildDiagnosis("api-not-found", evidence);
  if (status >= 500) {
    if (o.answeredBy === "backend") return buildDiagnosis("backend-error", { ...evidence, answeredBy: "backend" });
    if (o.answeredBy === "gateway") return buildDiagnosis("gateway-error", { ...evidence, answeredBy: "gateway" });
    return unexpected(o, evidence);
  }
  if (status === 401 || status === 403) {
    const key = subscriptionCause(o);
    // A challenge naming another header than the one the key went in: the name is what is wrong.
    const renamed = key ? renamedKeyHeader(o) : undefined;
    if (renamed) return buildDiagnosis("subscription-key-header", { ...evidence, ...renamed });
    if (key) return buildDiagnosis(key, evidence);
    // Only a genuine token's refusal is worth explaining by its claims; a rejecting probe with an
    // unexpected refusal status is a status mismatch.
    if (o.probe === "valid") return diagnoseRefusedToken(o, evidence, expectations);
    // A key probe refused by validate-jwt: the key check, which runs first, let it through.
    if (KEY_PROBES.includes(o.probe) && tokenNotFoundRefusal(o))
      return buildDiagnosis("subscription-not-required", evidence);
    // A token probe's token that validate-jwt did not find where it looks: it never judged it.
    if (SENDS_TOKEN.includes(o.probe) && tokenNotFoundRefusal(o)) {
      return buildDiagnosis("missing-bearer-scheme", evidence, { render: { evidenceFrom: `APIM: ${o.apimMessage}` } });
    }
  }
  return unexpected(o, evidence);
}

/**
 * APIM's key challenge names the header the API takes its key in (`WWW-Authenticate:
 * AzureApiManagementKey ... name="<header>",type="header"`): when a request that carried a key is
 * told the key is missing and the challenge names another header, the name is what is wrong.
 */
function renamedKeyHeader(o: ProbeObservation): { expectedKeyHeader: string; sentKeyHeader: string } | undefined {
  if (o.sentKeyHeader === undefined || o.probe === "no-subscription-key" || !o.wwwAuthenticate) return undefined;
  const challenge = parseChallenge(o.wwwAuthenticate);
  if (challenge?.scheme !== "azureapimanagementkey" || challenge.params.type !== "header") return undefined;
  const expected = challenge.params.name;
  if (!expected || expected.toLowerCase() === o.sentKeyHeader.toLowerCase()) return undefined;
  return { expectedKeyHeader: bounded(expected), sentKeyHeader: o.sentKeyHeader };
}

function subscriptionCause(o: ProbeObservation): CauseCode | undefined {
  const refusal = subscriptionKeyRefusal(o);
  if (refusal === "missing") return "missing-subscription-key";
  if (refusal === "invalid") return "invalid-subscription-key";
  // APIM's key challenge without its documented message (custom error handling): the key is at fault.
  if (refusal === "challenge") {
    return o.probe === "no-subscription-key" ? "missing-subscription-key" : "invalid-subscription-key";
  }
  return undefined;
}

/**
 * Whether a refusal is APIM's subscription key check: its documented message (missing or invalid
 * key), else its key challenge (`WWW-Authenticate: AzureApiManagementKey`). APIM checks the key
 * before any policy runs (https://learn.microsoft.com/azure/api-management/api-management-subscriptions:
 * calls without a valid key are rejected immediately), so such a refusal never reached validate-jwt.
 */
export function subscriptionKeyRefusal(answer: {
  apimMessage?: string;
  wwwAuthenticate?: string;
}): "missing" | "invalid" | "challenge" | undefined {
  const message = answer.apimMessage ?? "";
  if (/missing subscription key/i.test(message)) return "missing";
  if (/invalid subscription key/i.test(message)) return "invalid";
  if (answer.wwwAuthenticate && parseChallenge(answer.wwwAuthenticate)?.scheme === "azureapimanagementkey")
    return "challenge";
  return undefined;
}

/** Whether a refusal is APIM's ip-filter policy's (its 403 and message): the caller's address was refused, not its credentials. */
export function ipFilterRefusal(answer: { status: number; apimMessage?: string; answeredBy?: string }): boolean {
  return (
    answer.status === 403 &&
    answer.answeredBy !== "backend" &&
    /^Caller IP address .* is not allowed/i.test(answer.apimMessage ?? "")
  );
}

/** Whether an answer is APIM's own 404 for a URL that matches no API or operation: no API's checks ran. */
export function apiNotFoundRefusal(answer: { status: number; apimMessage?: string; answeredBy?: string }): boolean {
  return (
    answer.status === 404 && answer.answeredBy !== "backend" && /resource not found/i.test(answer.apimMessage ?? "")
  );
}

/**
 * Whether a refusal is validate-jwt's for finding no token where it looks (its default message "JWT not
 * present.", https://learn.microsoft.com/azure/api-management/validate-jwt-policy): a token sent
 * elsewhere (another header or scheme) was never judged.
 */
export function tokenNotFoundRefusal(answer: { apimMessage?: string }): boolean {
  return /^JWT not present\.?$/i.test(answer.apimMessage ?? "");
}

/** A `valid` call refused for its token: the preflight's rule, a backend's challenge, the token itself. */
function diagnoseRefusedToken(
  o: ProbeObservation,
  evidence: Evidence,
  expectations: Expectations | undefined,
): Diagnosis {
  if (o.preflight && !o.preflight.ok) return fromPreflight(o, o.preflight, evidence);

  if (o.wwwAuthenticate && o.answeredBy !== "gateway") {
    const challenge = causeOfBearerChallenge(o.wwwAuthenticate);
    if (challenge) {
      const withChallenge: Evidence = { ...evidence, wwwAuthenticate: bounded(o.wwwAuthenticate) };
      const findings = explainToken(o.token ?? {}, expectations, options(o)).filter((f) => f.cause === challenge.cause);
      if (findings[0]) return fromFinding(o, findings[0], withChallenge);
      return buildDiagnosis(challenge.cause, withChallenge, {
        variant: "backend-challenge",
        render: { evidenceFrom: `WWW-Authenticate: ${challenge.description ?? bounded(o.wwwAuthenticate)}` },
      });
    }
  }

  // [A] validate-jwt: "JWT not present." is its message when it found no token, yet `valid` sent one.
  if (tokenNotFoundRefusal(o)) {
    return buildDiagnosis("missing-bearer-scheme", evidence, { render: { evidenceFrom: `APIM: ${o.apimMessage}` } });
  }

  const findings = o.token ? explainToken(o.token, expectations, options(o)) : [];
  if (findings[0]) return fromFinding(o, findings[0], evidence);

  if (o.preflight?.ok) evidence.preflight = "passed";
  // Nothing names the rule (no policy, or a policy whose preflight passed): what the token says.
  const hypotheses = o.token && !o.preflight ? refusalHypotheses(o.token, expectations) : [];
  if (hypotheses.length > 0) {
    hypotheses.forEach((h, i) => (evidence[`hypothesis${i + 1}`] = `${h.name}: ${h.because}`));
    return buildDiagnosis("token-refused", evidence, {
      render: {
        hypotheses: hypotheses.map((h, i) => `${i + 1}) ${h.name}: ${h.because}`).join("; "),
        firstFix: `Most likely: ${hypotheses[0]!.fix}`,
      },
    });
  }
  return unexpected(o, evidence);
}

const PREFLIGHT_CAUSES: Readonly<Record<PreflightFailure["reason"], CauseCode>> = {
  TokenNotPresent: "missing-bearer-scheme",
  JwtInvalid: "token-invalid",
  TokenSignatureInvalid: "signature-invalid",
  TokenSignatureKeyNotFound: "signing-key-unknown",
  TokenExpired: "token-expired",
  TokenAudienceNotAllowed: "audience-mismatch",
  TokenIssuerNotAllowed: "issuer-mismatch",
  TokenClaimNotFound: "required-claim-missing",
  TokenClaimValueNotAllowed: "required-claim-missing",
};

function fromPreflight(o: ProbeObservation, preflight: PreflightFailure, evidence: Evidence): Diagnosis {
  const withRule: Evidence = { ...evidence, preflightReason: preflight.reason, preflightDetail: preflight.detail };
  if (preflight.dependsOn) withRule.dependsOn = preflight.dependsOn.join(" and ");
  if (preflight.checkSource) withRule.ruleSource = preflight.checkSource;
  // Every failing rule, so one round of fixes is enough: the first decides the cause, the rest follow.
  if (preflight.alsoFailing) withRule.alsoFailing = preflight.alsoFailing.join("; ");
  if (preflight.claim === "client-application-ids") return buildDiagnosis("client-not-allowed", withRule);
  let cause = PREFLIGHT_CAUSES[preflight.reason];
  if (cause === "required-claim-missing" && preflight.claim === "roles") cause = "missing-role";
  // The token summary gives the observed side; the preflight gives the policy's side.
  const policyExpectations: Expectations = {
    source: "policy",
    ...(preflight.expectedAudiences ? { audiences: preflight.expectedAudiences } : {}),
    ...(preflight.expectedIssuers ? { issuers: preflight.expectedIssuers } : {}),
    ...(preflight.claim === "roles" && preflight.expectedValues
      ? { roles: { name: "roles", match: "any" as const, values: preflight.expectedValues } }
      : {}),
    ...(preflight.claim !== undefined && preflight.claim !== "roles" && preflight.expectedValues
      ? { claims: [{ name: preflight.claim, match: "any" as const, values: preflight.expectedValues }] }
      : {}),
  };
  const finding = o.token
    ? explainToken(o.token, policyExpectations, options(o)).find((f) => f.cause === cause)
    : undefined;
  if (finding) return fromFinding(o, finding, withRule);
  if (cause === "required-claim-missing" && preflight.claim !== undefined) {
    withRule.claim = preflight.claim;
    if (preflight.expectedValues) withRule.expectedValues = joinList(preflight.expectedValues);
  }
  return buildDiagnosis(cause, withRule, {
    variant: "policy-rule",
    render: { evidenceFrom: `policy rule: ${preflight.detail}` },
  });
}

function fromFinding(o: ProbeObservation, finding: TokenFinding, evidence: Evidence): Diagnosis {
  return buildDiagnosis(
    finding.cause,
    { ...evidence, ...finding.evidence },
    finding.variant === undefined ? {} : { variant: finding.variant },
  );
}

function unexpected(o: ProbeObservation, evidence: Evidence): Diagnosis {
  const parts = [
    o.apimMessage ? `APIM: ${o.apimMessage}` : undefined,
    o.requestId ? `request id ${o.requestId}` : undefined,
  ].filter(Boolean);
  return buildDiagnosis("unexpected-status", evidence, {
    render: { observedSuffix: parts.length > 0 ? ` (${parts.join("; ")})` : "" },
  });
}

/** Evidence every diagnosis carries: what the probe asked and what came back. */
function base(o: ProbeObservation): Evidence {
  const evidence: Evidence = { probe: o.probe, expectedStatus: o.expectedStatuses.join("/") || "a token" };
  if (o.actualStatus !== undefined) evidence.actualStatus = String(o.actualStatus);
  if (o.apimMessage !== undefined) evidence.apimMessage = bounded(o.apimMessage);
  if (o.requestId !== undefined) evidence.requestId = o.requestId;
  return evidence;
}

function options(o: ProbeObservation) {
  return { ...(o.at !== undefined ? { at: o.at } : {}), ...(o.jwksKids ? { jwksKids: o.jwksKids } : {}) };
}

function asList(aud: string | string[]): string[] {
  return Array.isArray(aud) ? aud : [aud];
}

function bounded(text: string): string {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > 300 ? `${line.slice(0, 300)}...` : line;
}
