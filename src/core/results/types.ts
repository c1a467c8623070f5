import type { ProbeName } from "../../probe-matrix/names.js";
import type { DriftKind } from "../tokens/drift.js";

/**
 * - pass: the expected answer.
 * - fail: an unexpected status, or `valid` not 2xx.
 * - security: a rejecting probe got 2xx: the gateway let a bad caller in.
 * - error: the request did not complete (timeout, DNS, TLS, reset).
 * - blocked: a prerequisite (usually the token) failed; `cause` says which.
 * - skipped: not configured, or no expired token yet; `message` says why.
 */
export type Outcome = "pass" | "fail" | "security" | "error" | "blocked" | "skipped";

export const OUTCOMES: readonly Outcome[] = ["pass", "fail", "security", "error", "blocked", "skipped"];

/** What a token said about itself, decoded without verification. Never the token itself. */
export interface TokenSummary {
  aud?: string | string[];
  iss?: string;
  ver?: string;
  /** The calling client: `azp` (v2) or `appid` (v1). */
  client?: string;
  roles?: string[];
  /** Delegated scopes (`scp`), which client-credentials tokens do not carry. */
  scp?: string;
  /** Unix seconds. */
  exp?: number;
  kid?: string;
  alg?: string;
  /**
   * The JWT header carries a `nonce`: a Microsoft first-party token (Graph's), whose signature no
   * validator but its resource accepts (docs/REFERENCE.md §7). Never the nonce itself.
   */
  firstParty?: true;
}

/** A failure explained: stable code (alert rules key on it), one-line summary, and the fix. */
export interface Diagnosis {
  cause: string;
  summary: string;
  fix: string;
  /** Observed values that support the diagnosis, e.g. `{ expectedAudience, receivedAudience }`. */
  evidence?: Record<string, string>;
}

export interface ProbeResult {
  target: string;
  probe: ProbeName;
  outcome: Outcome;
  /** Statuses that count as a pass; for `token`, empty (success is a token). */
  expectedStatuses: readonly number[];
  /** HTTP status the API (or, for `token`, the token endpoint) answered; absent when none. */
  actualStatus?: number;
  /** Wall time of the request this probe is about, in milliseconds. */
  durationMs: number;
  /** One line: expected vs actual, and the cause. */
  message: string;
  /** APIM's error text (`message` of its JSON error body), when present. */
  apimMessage?: string;
  /** APIM's request id (`x-ms-request-id` / `apim-request-id`), when present. */
  requestId?: string;
  token?: TokenSummary;
  diagnosis?: Diagnosis;
  /** ISO time the probe started. */
  startedAt: string;
  /**
   * Short stable code of what went wrong, when it is known without a diagnoser: the AADSTS code of
   * a refused token (`AADSTS7000215`), the transport kind of an error (`timeout`), the OAuth error.
   * The availability result's `cause` property falls back to it when there is no diagnosis.
   */
  cause?: string;
  /**
   * For `blocked`: the prerequisite that failed (`token`, `wrong-audience token`, ...). Its cause is
   * the diagnosis's; a reader is told it once, at the prerequisite, not again on every blocked row.
   */
  blockedBy?: string;
  /** The API's `WWW-Authenticate` header on a refusal, when present (says which check refused). */
  wwwAuthenticate?: string;
  /** For `token`: what changed since the last run's token for the same client and scope. */
  tokenDrift?: readonly DriftKind[];
  /** Requests it took (2 when a transient failure was retried); absent for one. */
  attempts?: number;
  /** For the forecasts (tls-certificate, credential-expiry): the soonest expiry found. */
  expiry?: Expiry;
}

/** A certificate or credential and when it expires, as a forecast reports it. Public facts only. */
export interface Expiry {
  /** What expires, in the user's words: `TLS certificate api.contoso.com`, `client secret "ci" (hint Abc) of 1f2e...`. */
  item: string;
  /** ISO time of notAfter / endDateTime. */
  expiresOn: string;
  /** Whole days left (negative once expired), counted down from the probe's clock. */
  daysLeft: number;
}

export interface RunSummary {
  total: number;
  byOutcome: Record<Outcome, number>;
  /** True when every probe passed or was skipped, and at least one passed. */
  ok: boolean;
  /** No probe passed and none failed: every one was skipped (or none ran), so the run proved nothing. */
  nothingProven: boolean;
  durationMs: number;
}

export interface RunReport {
  runId: string;
  startedAt: string;
  trigger: "timer" | "http" | "cli";
  source?: string;
  results: ProbeResult[];
  summary: RunSummary;
  /** What became of the run's availability results; set once they were sent (absent without a connection string). */
  delivery?: DeliveryReport;
}

/** One reason results were not accepted, with its fix, and how many results it concerns. */
export interface DeliveryProblem {
  /** Names the ingestion host and the HTTP status or transport error, e.g. `ingestion at x.in.applicationinsights.azure.com answered 401`. */
  reason: string;
  fix?: string;
  /** This run's results not accepted for this reason. */
  results: number;
  /** How many of them the outbox keeps for a later run (the rest are lost). */
  kept: number;
}

/**
 * The run's availability results on their way to Application Insights: the JSON document's
 * `delivery` section (CLI and the HTTP trigger's answer), and what the Functions log says.
 */
export interface DeliveryReport {
  /** Host of the ingestion endpoint (the connection string's IngestionEndpoint). */
  endpoint: string;
  /** This run's results sent (one per probe that ran). */
  sent: number;
  /** Of those, accepted by ingestion. */
  accepted: number;
  /** Not accepted, kept in the outbox for a later run. */
  kept: number;
  /** Neither accepted nor kept, evictions included: a hole in the availability history. */
  lost: number;
  /** Results the full outbox evicted (this run's or earlier ones'), by outcome: passes go first. */
  evicted: { total: number; byOutcome: Record<string, number> };
  /** Results of earlier runs the outbox held: delivered now, refused and dropped, too old and dropped. */
  earlier: { delivered: number; refused: number; tooOld: number };
  /** Results waiting in the outbox after this run; absent without an outbox, or when it could not be updated. */
  waiting?: number;
  /** Where the outbox is (`state dir ./state`, `storage account x, container y`); absent when there is none. */
  store?: string;
  /** How long the delivery took, outbox included, in ms. */
  durationMs: number;
  /** Why results were not accepted, one entry per reason. */
  problems: DeliveryProblem[];
  /** A damaged outbox document, set aside (copied) before a new one replaced it. */
  damagedState?: { document: string; problem: string; savedAs: string; store: string };
  /** The outbox's store failed: its message. */
  stateProblem?: string;
}
