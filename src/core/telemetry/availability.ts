import type { ProbeResult, RunReport } from "../results/types.js";

/**
 * One availability result as the product publishes it (docs/ARCHITECTURE.md "Published names").
 * Pure data: building it needs no `applicationinsights`, so it is tested without loading the SDK.
 */
export interface AvailabilityItem {
  id: string;
  /** `<target>/<probe>`. */
  name: string;
  /** ISO time the probe started: the record's time, also when the outbox delivers it a day later. */
  time: string;
  success: boolean;
  durationMs: number;
  runLocation: string;
  message: string;
  properties: Record<string, string>;
  measurements: { durationMs: number };
}

// Ingestion limits (docs/REFERENCE.md §4). The exporter truncates too, but by bytes and not for every field.
const MAX_NAME = 1024;
const MAX_RUN_LOCATION = 1024;
const MAX_MESSAGE = 8192;
const MAX_PROPERTY_VALUE = 8192;

/**
 * A compact JWS (three base64url segments, JSON header). Results carry token summaries, never
 * tokens, but a message built from a server's error text could quote one: scrub before sending.
 */
const JWT_LIKE = /\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*/g;

export function redactTokens(text: string): string {
  return text.replace(JWT_LIKE, "[redacted-token]");
}

/**
 * One item per probe that ran. `skipped` probes did not run, so they are not availability results;
 * `blocked` ones did not get to ask the API but still mean "not available" and go out as failures.
 */
export function toAvailabilityItems(
  run: RunReport,
  runLocation: string,
  newId: () => string,
): { items: AvailabilityItem[]; skipped: number } {
  const items: AvailabilityItem[] = [];
  let skipped = 0;
  for (const result of run.results) {
    if (result.outcome === "skipped") {
      skipped++;
      continue;
    }
    items.push(toAvailabilityItem(run, result, runLocation, newId()));
  }
  return { items, skipped };
}

export function toAvailabilityItem(
  run: RunReport,
  result: ProbeResult,
  runLocation: string,
  id: string,
): AvailabilityItem {
  const durationMs = Number.isFinite(result.durationMs) && result.durationMs > 0 ? result.durationMs : 0;
  return {
    id,
    name: clip(`${result.target}/${result.probe}`, MAX_NAME),
    time: result.startedAt,
    success: result.outcome === "pass",
    durationMs,
    runLocation: clip(runLocation, MAX_RUN_LOCATION),
    message: clip(oneLine(redactTokens(messageOf(result))), MAX_MESSAGE),
    properties: toProperties(run, result),
    measurements: { durationMs },
  };
}

/**
 * Exactly the published property names, empty ones omitted. What is deliberately NOT sent: the APIM
 * error text, the diagnosis' evidence record, and the token's client id or expiry; only the summary fields below.
 * `runId` is the key that ties one run's results together (query `customDimensions.runId`).
 */
function toProperties(run: RunReport, result: ProbeResult): Record<string, string> {
  const token = result.token;
  const aud = token?.aud === undefined ? undefined : Array.isArray(token.aud) ? token.aud.join(",") : token.aud;
  const candidate: Record<string, string | undefined> = {
    target: result.target,
    probe: result.probe,
    outcome: result.outcome,
    expectedStatus: result.expectedStatuses.join(","),
    actualStatus: result.actualStatus === undefined ? undefined : String(result.actualStatus),
    trigger: run.trigger,
    source: run.source,
    runId: run.runId,
    cause: causeOf(result),
    requestId: result.requestId,
    tokenAudience: aud,
    tokenIssuer: token?.iss,
    tokenVersion: token?.ver,
    tokenRoles: token?.roles?.join(","),
    tokenKid: token?.kid,
    tokenDrift: result.tokenDrift?.join(","),
    attempts: result.attempts === undefined ? undefined : String(result.attempts),
    expiringItem: result.expiry?.item,
    expiresOn: result.expiry?.expiresOn,
    daysLeft: result.expiry === undefined ? undefined : String(result.expiry.daysLeft),
  };
  const properties: Record<string, string> = {};
  for (const [key, value] of Object.entries(candidate)) {
    if (value !== undefined && value !== "") properties[key] = clip(redactTokens(value), MAX_PROPERTY_VALUE);
  }
  return properties;
}

/**
 * What the Availability pane shows: expected vs actual, then the diagnosis (stable code, summary with
 * the observed values, and the fix), so the alert e-mail alone tells the on-call engineer what to do.
 * The diagnosis' evidence record stays out: the summary already quotes what matters.
 */
function messageOf(result: ProbeResult): string {
  const base = result.message || fallbackMessage(result);
  const d = result.diagnosis;
  if (!d || (!d.summary && !d.fix)) return base;
  return `${base} [${d.cause}] ${d.summary}${d.fix ? ` Fix: ${d.fix}` : ""}`;
}

function fallbackMessage(result: ProbeResult): string {
  const expected = result.expectedStatuses.length > 0 ? result.expectedStatuses.join(",") : "success";
  const actual = result.actualStatus === undefined ? "no answer" : String(result.actualStatus);
  const code = causeOf(result);
  const cause = code === undefined ? "" : `; cause ${code}`;
  return `${result.outcome}: expected ${expected}, got ${actual}${cause}`;
}

/**
 * The `cause` property: the diagnosis' stable code (alert rules and dashboards key on it), else the
 * result's own short code (`AADSTS7000215`, `timeout`) when it ran without a diagnosis.
 */
function causeOf(result: ProbeResult): string | undefined {
  return result.diagnosis?.cause ?? result.cause;
}

function oneLine(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, " ").trim();
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : text.slice(0, max);
}
