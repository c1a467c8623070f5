/**
 * The six alert rules of infra/main.json, mirrored in TypeScript over rows shaped like the
 * Application Insights `availabilityResults` table, so tests can evaluate what Azure Monitor would
 * do with the results a probe run produced. Each function follows its KQL file in infra/kql/ step
 * by step; a change to one must be made to the other (test/infra/rules.test.ts pins both).
 *
 * Pure functions: the evaluation time is a parameter (`now`, ms since the epoch), never the clock.
 */
import type { ProbeResult, RunReport } from "../../src/core/results/types.js";

/** One `availabilityResults` row, as the Logs API returns it (only the columns the rules read). */
export interface AvailabilityRow {
  /** The result's id (AvailabilityData `id`): the same id twice is one result sent twice (at least once). */
  id?: string;
  /** ISO 8601: the result's own time. */
  timestamp: string;
  /**
   * ISO 8601: when ingestion made it queryable (`ingestion_time()`); default `timestamp`. A rule
   * evaluated before then does not see the row at all: that is what ingestion delay does.
   */
  ingestedAt?: string;
  /** `<target>/<probe>`. */
  name: string;
  /** The run location (PROBE_RUN_LOCATION, or the region). */
  location: string;
  success: boolean;
  message: string;
  /** Milliseconds. */
  duration: number;
  /** The result's properties: target, probe, outcome, cause, runId, ... (all strings). */
  customDimensions: Partial<Record<string, string>>;
  customMeasurements?: Partial<Record<string, number>>;
  operation_Id?: string;
}

export type AlertRuleName = "gateway-security-regression" | "api-down" | "probe-silent" | "token-endpoint" | "token-drift" | "expiry";

/** Parameters of infra/main.json that change what the rules do; defaults equal the template's. */
export interface AlertParameters {
  /** Minutes between runs (PROBE_SCHEDULE `0 *\/N * * * *`). */
  scheduleMinutes: number;
  /** api-down: failed runs in a row at one location. */
  downConsecutiveRuns: number;
  /** api-down: locations that must be down at once. */
  downMinFailingLocations: number;
  /** api-down and probe-silent: minutes allowed for ingestion delay (alertIngestionDelayMinutes). */
  ingestionDelayMinutes: number;
}

export const DEFAULT_ALERT_PARAMETERS: Readonly<AlertParameters> = {
  scheduleMinutes: 5,
  downConsecutiveRuns: 2,
  downMinFailingLocations: 1,
  ingestionDelayMinutes: 10,
};

export interface AlertRuleSpec {
  name: AlertRuleName;
  /** Azure Monitor severity: 0 critical ... 4 verbose. */
  severity: 0 | 1 | 2 | 3 | 4;
  /** The KQL file in infra/kql/. */
  kqlFile: string;
  /** Columns the alert splits on (the rule's `dimensions`). */
  dimensions: readonly string[];
}

export const ALERT_RULES: readonly AlertRuleSpec[] = [
  { name: "gateway-security-regression", severity: 0, kqlFile: "alert-gateway-security-regression.kql", dimensions: ["target", "probe"] },
  { name: "api-down", severity: 1, kqlFile: "alert-api-down.kql", dimensions: ["target"] },
  { name: "probe-silent", severity: 1, kqlFile: "alert-probe-silent.kql", dimensions: ["location"] },
  { name: "token-endpoint", severity: 2, kqlFile: "alert-token-endpoint.kql", dimensions: ["target", "cause"] },
  { name: "token-drift", severity: 2, kqlFile: "alert-token-drift.kql", dimensions: ["target"] },
  { name: "expiry", severity: 2, kqlFile: "alert-expiry.kql", dimensions: ["item", "probe"] },
];

/** The expiry rule's window (windowSize PT1H): a forecast fails every run until the renewal. */
export const EXPIRY_WINDOW_MINUTES = 60;

/** The rules that read arrivals (`ingestion_time() > ago(10m)`), not the results' own time. */
export const ARRIVAL_WINDOW_MINUTES = 10;

export const TOKEN_ENDPOINT_WINDOW_MINUTES = 15;
/** probe-silent: a location that reported within this period is expected to keep reporting. */
export const SILENT_BASELINE_MINUTES = 2 * 24 * 60;
/** probe-silent: the row that stands for "nothing reported at all". */
export const ALL_LOCATIONS = "(all locations)";

const MINUTE = 60_000;

function dim(row: AvailabilityRow, key: string): string {
  return row.customDimensions[key] ?? "";
}

function time(row: AvailabilityRow): number {
  return Date.parse(row.timestamp);
}

function ingested(row: AvailabilityRow): number {
  return Date.parse(row.ingestedAt ?? row.timestamp);
}

/** What a query at `now` can see: rows ingestion has made queryable by then. */
function visible(rows: readonly AvailabilityRow[], now: number): AvailabilityRow[] {
  return rows.filter((r) => ingested(r) <= now);
}

/**
 * One row per result id, at its first arrival (`summarize arg_min(arrived, *) by id`): a result
 * re-sent after a crash between ingestion's acceptance and the outbox's update arrives twice, and
 * must count once, and not arrive "anew" for a rule that reads arrivals. Rows without an id stay.
 */
function firstArrivals(rows: readonly AvailabilityRow[]): AvailabilityRow[] {
  const first = new Map<string, AvailabilityRow>();
  const rest: AvailabilityRow[] = [];
  for (const row of rows) {
    if (row.id === undefined) rest.push(row);
    else {
      const seen = first.get(row.id);
      if (seen === undefined || ingested(row) < ingested(seen)) first.set(row.id, row);
    }
  }
  return [...first.values(), ...rest];
}

/** This probe's results: another availability test in the resource has no runId or probe. */
function ours(row: AvailabilityRow): boolean {
  return dim(row, "runId") !== "" && dim(row, "probe") !== "";
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const group = groups.get(k);
    if (group) group.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}

export interface SecurityFinding {
  target: string;
  probe: string;
  results: number;
  locations: string[];
  actualStatuses: string[];
}

/**
 * alert-gateway-security-regression.kql: any `security` outcome that ARRIVED in the last 10 minutes,
 * whatever its own time (within the rule's 2-day range): a result the outbox delivers late fires too.
 */
export function securityRegressionFindings(rows: readonly AvailabilityRow[], now: number): SecurityFinding[] {
  const since = now - ARRIVAL_WINDOW_MINUTES * MINUTE;
  const range = now - 2 * 24 * 60 * MINUTE;
  const hits = firstArrivals(visible(rows, now).filter((r) => dim(r, "outcome") === "security")).filter((r) => ingested(r) > since && time(r) > range);
  return [...groupBy(hits, (r) => JSON.stringify([dim(r, "target"), dim(r, "probe")])).values()].map((group) => ({
    target: dim(group[0]!, "target"),
    probe: dim(group[0]!, "probe"),
    results: group.length,
    locations: [...new Set(group.map((r) => r.location))],
    actualStatuses: [...new Set(group.map((r) => dim(r, "actualStatus")))],
  }));
}

export interface ApiDownFinding {
  target: string;
  failingLocations: number;
  /** Locations that reported `valid`/`token` results in the lookback (the M of "N of M"). */
  locations: number;
  downLocations: string[];
}

/** The api-down lookback: one schedule period more than the runs it needs, plus the ingestion-delay margin. */
export function apiDownLookbackMinutes(params: AlertParameters): number {
  return (params.downConsecutiveRuns + 1) * params.scheduleMinutes + params.ingestionDelayMinutes;
}

/** alert-api-down.kql: `valid` or `token` failing in N consecutive runs at each of K locations. */
export function apiDownFindings(
  rows: readonly AvailabilityRow[],
  now: number,
  params: AlertParameters = DEFAULT_ALERT_PARAMETERS,
): ApiDownFinding[] {
  const since = now - apiDownLookbackMinutes(params) * MINUTE;
  const relevant = visible(rows, now).filter((r) => {
    const probe = dim(r, "probe");
    if (!ours(r)) return false;
    return time(r) > since && time(r) <= now && (probe === "valid" || probe === "token") && dim(r, "outcome") !== "skipped";
  });
  // One verdict per run: failed when any of its valid/token results is not a pass.
  const runs = [...groupBy(relevant, (r) => JSON.stringify([dim(r, "target"), r.location, dim(r, "runId") || (r.operation_Id ?? "")])).values()].map(
    (group) => ({
      target: dim(group[0]!, "target"),
      location: group[0]!.location,
      runAt: Math.min(...group.map(time)),
      failed: group.some((r) => dim(r, "outcome") !== "pass"),
    }),
  );
  const findings: ApiDownFinding[] = [];
  for (const targetRuns of groupBy(runs, (r) => r.target).values()) {
    const byLocation = groupBy(targetRuns, (r) => r.location);
    const downLocations: string[] = [];
    for (const [location, locationRuns] of byLocation) {
      const latest = [...locationRuns].sort((a, b) => b.runAt - a.runAt).slice(0, params.downConsecutiveRuns);
      const down = latest.length === params.downConsecutiveRuns && latest.every((r) => r.failed);
      if (down) downLocations.push(location);
    }
    if (downLocations.length >= params.downMinFailingLocations) {
      findings.push({ target: targetRuns[0]!.target, failingLocations: downLocations.length, locations: byLocation.size, downLocations });
    }
  }
  return findings;
}

export interface ProbeSilentFinding {
  location: string;
  /** ISO time of the location's last result; absent for the "nothing at all" row. */
  lastResult?: string;
}

/** The probe-silent threshold: three schedule periods plus the ingestion-delay margin. */
export function silenceMinutes(params: AlertParameters): number {
  return 3 * params.scheduleMinutes + params.ingestionDelayMinutes;
}

/**
 * alert-probe-silent.kql: a location that reported in the baseline but not in the last three
 * periods, plus one row when nothing at all reported: an empty window fires, it never looks healthy.
 */
export function probeSilentFindings(
  rows: readonly AvailabilityRow[],
  now: number,
  params: AlertParameters = DEFAULT_ALERT_PARAMETERS,
): ProbeSilentFinding[] {
  const silenceStart = now - silenceMinutes(params) * MINUTE;
  const baselineStart = now - SILENT_BASELINE_MINUTES * MINUTE;
  const inRange = visible(rows, now).filter((r) => time(r) <= now && ours(r));
  const findings: ProbeSilentFinding[] = [];
  for (const [location, group] of groupBy(
    inRange.filter((r) => time(r) > baselineStart),
    (r) => r.location,
  )) {
    const last = Math.max(...group.map(time));
    if (last <= silenceStart) findings.push({ location, lastResult: new Date(last).toISOString() });
  }
  if (!inRange.some((r) => time(r) > silenceStart)) findings.push({ location: ALL_LOCATIONS });
  return findings;
}

export interface TokenEndpointFinding {
  target: string;
  cause: string;
  results: number;
  probes: string[];
}

/** alert-token-endpoint.kql: every `blocked` result (only a token failure blocks a probe). */
export function tokenEndpointFindings(rows: readonly AvailabilityRow[], now: number): TokenEndpointFinding[] {
  const since = now - TOKEN_ENDPOINT_WINDOW_MINUTES * MINUTE;
  const hits = visible(rows, now).filter((r) => time(r) > since && time(r) <= now && dim(r, "runId") !== "" && dim(r, "outcome") === "blocked");
  return [...groupBy(hits, (r) => JSON.stringify([dim(r, "target"), dim(r, "cause")])).values()].map((group) => ({
    target: dim(group[0]!, "target"),
    cause: dim(group[0]!, "cause"),
    results: group.length,
    probes: [...new Set(group.map((r) => dim(r, "probe")))],
  }));
}

export interface TokenDriftFinding {
  target: string;
  results: number;
  changes: string[];
}

/** alert-token-drift.kql: a `token` result that arrived lately saying a role was removed or the version changed. */
export function tokenDriftFindings(rows: readonly AvailabilityRow[], now: number): TokenDriftFinding[] {
  const since = now - ARRIVAL_WINDOW_MINUTES * MINUTE;
  const hits = firstArrivals(visible(rows, now).filter((r) => dim(r, "probe") === "token" && dim(r, "runId") !== "")).filter((r) => {
    if (ingested(r) <= since) return false;
    const drift = dim(r, "tokenDrift").split(",");
    return drift.includes("roles-removed") || drift.includes("version");
  });
  return [...groupBy(hits, (r) => dim(r, "target")).values()].map((group) => ({
    target: dim(group[0]!, "target"),
    results: group.length,
    changes: [...new Set(group.map((r) => dim(r, "tokenDrift")))],
  }));
}

export interface ExpiryFinding {
  item: string;
  probe: string;
  daysLeft: number;
}

/** alert-expiry.kql: a forecast that failed for too few days left, per item, in the last hour. */
export function expiryFindings(rows: readonly AvailabilityRow[], now: number): ExpiryFinding[] {
  const since = now - EXPIRY_WINDOW_MINUTES * MINUTE;
  const hits = visible(rows, now).filter((r) => {
    if (time(r) <= since || time(r) > now || dim(r, "runId") === "") return false;
    const probe = dim(r, "probe");
    const cause = dim(r, "cause");
    return (probe === "tls-certificate" || probe === "credential-expiry") && (cause === "certificate-expiring" || cause === "credential-expiring");
  });
  return [...groupBy(hits, (r) => JSON.stringify([dim(r, "expiringItem"), dim(r, "probe")])).values()].map((group) => ({
    item: dim(group[0]!, "expiringItem"),
    probe: dim(group[0]!, "probe"),
    daysLeft: Math.min(...group.map((r) => Number(dim(r, "daysLeft")))),
  }));
}

export interface AlertEvaluation {
  rule: AlertRuleName;
  severity: AlertRuleSpec["severity"];
  /** The rules fire on "row count > 0" (per dimension value). */
  fired: boolean;
  findings: readonly object[];
}

/** Evaluates every rule at `now`, as the six scheduled query rules would. */
export function evaluateAlertRules(
  rows: readonly AvailabilityRow[],
  now: number,
  params: AlertParameters = DEFAULT_ALERT_PARAMETERS,
): AlertEvaluation[] {
  const findings: Record<AlertRuleName, readonly object[]> = {
    "gateway-security-regression": securityRegressionFindings(rows, now),
    "api-down": apiDownFindings(rows, now, params),
    "probe-silent": probeSilentFindings(rows, now, params),
    "token-endpoint": tokenEndpointFindings(rows, now),
    "token-drift": tokenDriftFindings(rows, now),
    expiry: expiryFindings(rows, now),
  };
  return ALERT_RULES.map((spec) => ({
    rule: spec.name,
    severity: spec.severity,
    fired: findings[spec.name].length > 0,
    findings: findings[spec.name],
  }));
}

/** The names of the rules that fired. */
export function firedRules(rows: readonly AvailabilityRow[], now: number, params?: AlertParameters): AlertRuleName[] {
  return evaluateAlertRules(rows, now, params)
    .filter((e) => e.fired)
    .map((e) => e.rule);
}

function rowFromResult(result: ProbeResult, report: RunReport, location: string): AvailabilityRow {
  const dims: Record<string, string> = {
    target: result.target,
    probe: result.probe,
    outcome: result.outcome,
    expectedStatus: result.expectedStatuses.join(","),
    trigger: report.trigger,
    runId: report.runId,
  };
  if (result.actualStatus !== undefined) dims.actualStatus = String(result.actualStatus);
  if (report.source !== undefined) dims.source = report.source;
  if (result.diagnosis) dims.cause = result.diagnosis.cause;
  if (result.requestId) dims.requestId = result.requestId;
  if (result.tokenDrift) dims.tokenDrift = result.tokenDrift.join(",");
  if (result.expiry) {
    dims.expiringItem = result.expiry.item;
    dims.expiresOn = result.expiry.expiresOn;
    dims.daysLeft = String(result.expiry.daysLeft);
  }
  return {
    timestamp: result.startedAt,
    name: `${result.target}/${result.probe}`,
    location,
    success: result.outcome === "pass",
    message: result.message,
    duration: result.durationMs,
    customDimensions: dims,
    customMeasurements: { durationMs: result.durationMs },
    operation_Id: report.runId,
  };
}

/**
 * The rows a run report becomes in `availabilityResults` (skipped results are not sent), for
 * evaluating the rules on the results of a real run, e.g. against a sandbox scenario.
 */
export function rowsFromRunReport(report: RunReport, location: string): AvailabilityRow[] {
  return report.results.filter((r) => r.outcome !== "skipped").map((r) => rowFromResult(r, report, location));
}

/** `[D.]HH:MM:SS.fff` (the AvailabilityData duration, docs/REFERENCE.md §4) in milliseconds. */
export function parseEnvelopeDuration(duration: string): number {
  const m = /^(?:(\d+)\.)?(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,7}))?$/.exec(duration);
  if (!m) throw new RangeError(`not an AvailabilityData duration: ${JSON.stringify(duration)}`);
  const [, days = "0", hh, mm, ss, fraction = "0"] = m;
  return ((Number(days) * 24 + Number(hh)) * 60 + Number(mm)) * 60_000 + Number(ss) * 1000 + Number(`0.${fraction}`) * 1000;
}

/** The parts of an ingestion envelope (`Microsoft.ApplicationInsights.Availability`) read here. */
export interface AvailabilityEnvelope {
  time: string;
  tags?: Partial<Record<string, string>>;
  data: {
    baseType: string;
    baseData: {
      id?: string;
      name: string;
      duration: string;
      success: boolean;
      runLocation?: string;
      message?: string;
      properties?: Partial<Record<string, string>>;
      measurements?: Partial<Record<string, number>>;
    };
  };
}

/** The row an `AvailabilityData` envelope (as received by ingestion) becomes. */
export function rowFromAvailabilityEnvelope(envelope: AvailabilityEnvelope): AvailabilityRow {
  if (envelope.data.baseType !== "AvailabilityData") throw new TypeError(`not an AvailabilityData envelope: ${envelope.data.baseType}`);
  const b = envelope.data.baseData;
  const operationId = envelope.tags?.["ai.operation.id"];
  return {
    ...(b.id !== undefined ? { id: b.id } : {}),
    timestamp: envelope.time,
    name: b.name,
    location: b.runLocation ?? "",
    success: b.success,
    message: b.message ?? "",
    duration: parseEnvelopeDuration(b.duration),
    customDimensions: { ...b.properties },
    customMeasurements: { ...b.measurements },
    ...(operationId ? { operation_Id: operationId } : {}),
  };
}
