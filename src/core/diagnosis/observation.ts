import type { TokenDrift } from "../tokens/drift.js";
import { TokenAcquisitionError, TransportError } from "../errors.js";
import type { ProbeName } from "../../probe-matrix/names.js";
import type { Outcome, ProbeResult, TokenSummary } from "../results/types.js";
import type { JwtFailureReason } from "../../policy/index.js";
import type { TokenFailure } from "./aadsts.js";

/** Who wrote the answer: APIM itself (its `{statusCode,message}` error body) or what is behind it. */
export type AnsweredBy = "gateway" | "backend";

/**
 * The failing validate-jwt rule of a preflight (the shared evaluator run on the acquired token against
 * the target's policy), with the policy values the rule compared against.
 */
export interface PreflightFailure {
  ok: false;
  reason: JwtFailureReason;
  /** The evaluator's one-line detail (names the rule and the observed value; never the token). */
  detail: string;
  expectedAudiences?: readonly string[];
  expectedIssuers?: readonly string[];
  /** For claim reasons: the claim and the values the policy requires. */
  claim?: string;
  expectedValues?: readonly string[];
  requireScheme?: string;
  /** The failing check stands under <choose> conditions the probe's request cannot decide. */
  dependsOn?: readonly string[];
  /** Where the failing check stands, in a composed policy: scope and file (and line). */
  checkSource?: string;
  /** The other rules of the same check that fail too (APIM reports only the first). */
  alsoFailing?: readonly string[];
}

export type PreflightOutcome = { ok: true } | PreflightFailure;

/** Everything a diagnosis may use: only what was observed during the probe, nothing inferred. */
export interface ProbeObservation {
  probe: ProbeName;
  outcome: Outcome;
  expectedStatuses: readonly number[];
  actualStatus?: number;
  /** `message` of APIM's JSON error body (or a backend's), when there was one. */
  apimMessage?: string;
  requestId?: string;
  /** The refusal's `WWW-Authenticate` header. */
  wwwAuthenticate?: string;
  /** Absent when unknown (the engine did not look at the body). */
  answeredBy?: AnsweredBy;
  /** Summary of the token the probe sent (or, for `token`, acquired). */
  token?: TokenSummary;
  tokenFailure?: TokenFailure;
  transportFailure?: TransportError["kind"];
  /** The transport failure was the run's own budget running out (cause run-budget), not the endpoint. */
  runBudget?: true;
  preflight?: PreflightOutcome;
  /** `kid`s of the tenant's published signing keys, when the engine fetched them. */
  jwksKids?: readonly string[];
  /** When the request was sent, ms since the epoch (judges `exp`). */
  at?: number;
  /** Client id the token was requested for (the probe's or the unassigned client's). */
  clientId?: string;
  /** Scope requested, for token failures. */
  scope?: string;
  tenant?: string;
  /** Setting that holds the secret of the client at fault, named in fixes (never its value). */
  secretSetting?: string;
  /**
   * Where a failure happened, when it was not the API: Entra's token endpoint (a transport failure
   * there is Entra's, not the backend's). Managed-identity failures are told by their OAuth error.
   */
  failedAt?: "token-endpoint";
  /** Origin of the token endpoint, for fixes that name it. */
  authorityHost?: string;
  /** The cloud's token-exchange audience, for federated-credential fixes. */
  federatedAudience?: string;
  /** The policy had no validate-jwt at all (as read from the target's policy file). */
  policyHasNoValidation?: boolean;
  /** For the forecasts: what expires too soon, and what the fix needs to name. */
  expiring?: { cause: "certificate-expiring" | "credential-expiring"; evidence: Record<string, string> };
  /** For `token`: how this token differs from the last run's for the same client and scope. */
  tokenDrift?: TokenDrift;
  /** For `token`: the tenant's signing keys that changed since the previous run (a rollover). */
  signingKeyChange?: { added: readonly string[]; removed: readonly string[] };
  /** For `valid`: the assertion its 2xx answer failed. */
  assertionFailure?: {
    cause: "assertion-failed" | "slow-response" | "error-document";
    assertion: string;
    expected: string;
    received: string;
  };
  /** For `wrong-audience`: why its refusal does not isolate the audience rule, when it does not. */
  audienceUnproven?: { differences: readonly string[]; reason: string; fix: string };
  /** The target accepts the API as open by design (`acceptOpen`), with its reason: a 2xx here is not a breach. */
  acceptedOpen?: string;
  /** The header the request carried the subscription key in (APIM's default unless the API renames it). */
  sentKeyHeader?: string;
}

/** What a failure contributes to an observation: the token endpoint's refusal or the transport kind. */
export function observeError(
  error: unknown,
): Pick<ProbeObservation, "tokenFailure" | "transportFailure" | "runBudget"> {
  if (error instanceof TokenAcquisitionError) return { tokenFailure: { ...error.details } };
  if (error instanceof TransportError)
    return { transportFailure: error.kind, ...(error.runBudget ? { runBudget: true as const } : {}) };
  return {};
}

const TRANSPORT_KINDS = new Set<string>(["timeout", "dns", "tls", "connection"]);

/**
 * An observation from a finished ProbeResult, for engines that kept only the result: its `cause`
 * (`AADSTS7000215`, `timeout`, an OAuth error) is turned back into the structured failure.
 * `extra` adds what the result does not carry (answer source, preflight, JWKS kids, time).
 */
export function observationFromResult(result: ProbeResult, extra: Partial<ProbeObservation> = {}): ProbeObservation {
  const observation: ProbeObservation = {
    probe: result.probe,
    outcome: result.outcome,
    expectedStatuses: result.expectedStatuses,
  };
  if (result.actualStatus !== undefined) observation.actualStatus = result.actualStatus;
  if (result.apimMessage !== undefined) observation.apimMessage = result.apimMessage;
  if (result.requestId !== undefined) observation.requestId = result.requestId;
  if (result.wwwAuthenticate !== undefined) observation.wwwAuthenticate = result.wwwAuthenticate;
  if (result.token !== undefined) observation.token = result.token;
  const cause = result.cause;
  if (cause !== undefined && (result.outcome === "error" || result.outcome === "blocked" || result.probe === "token")) {
    const aadsts = /^AADSTS(\d+)$/.exec(cause);
    if (aadsts) {
      const failure: TokenFailure = { aadsts: Number(aadsts[1]) };
      if (result.probe === "token" && result.actualStatus !== undefined) failure.status = result.actualStatus;
      observation.tokenFailure = failure;
    } else if (cause === "run-budget") {
      observation.transportFailure = "timeout";
      observation.runBudget = true;
    } else if (TRANSPORT_KINDS.has(cause)) {
      observation.transportFailure = cause as TransportError["kind"];
    } else if (/^[a-z_]+$/.test(cause) && (result.probe === "token" || result.outcome === "blocked")) {
      // Only a token request's failure carries an OAuth error; an `error` elsewhere (e.g. `internal`) is not one.
      observation.tokenFailure = { oauthError: cause };
    }
  }
  return { ...observation, ...extra };
}

/**
 * APIM's own error document, `{"statusCode": n, "message": "..."}` and nothing else
 * (docs/REFERENCE.md §3): its status; undefined for any other body, a backend's own JSON included.
 */
function apimErrorStatus(body: string): number | undefined {
  // Most bodies are a backend's answer: not parsed at all unless they could be APIM's.
  if (!body.includes('"statusCode"')) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) return undefined;
  const keys = Object.keys(parsed).sort();
  const { statusCode, message } = parsed as { statusCode?: unknown; message?: unknown };
  const apimShape = keys.length === 2 && keys[0] === "message" && keys[1] === "statusCode";
  return apimShape && typeof message === "string" && Number.isInteger(statusCode) ? (statusCode as number) : undefined;
}

/**
 * The error status a 2xx body carries when the body is APIM's own error document: an on-error
 * `return-response` without `set-status`, or a policy that copies APIM's error into a 200. The
 * answer's status says success; its body says the call failed.
 */
export function errorStatusInBody(body: string): number | undefined {
  const status = apimErrorStatus(body);
  return status !== undefined && status >= 400 ? status : undefined;
}

/**
 * Whether a non-2xx body is APIM's own error (its error document, with the answer's status) or came
 * from behind the gateway. APIM forwards a backend's answer unchanged, so any other body (HTML,
 * problem+json, empty) is the backend's. A backend that imitates APIM's exact shape is
 * indistinguishable by body and counts as the gateway.
 */
export function answeredByFromBody(status: number, body: string): AnsweredBy {
  return apimErrorStatus(body) === status ? "gateway" : "backend";
}
