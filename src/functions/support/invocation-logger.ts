import type { InvocationContext } from "@azure/functions";
import type { TelemetryLogger } from "../../core/telemetry/index.js";
import type { RunReport } from "../../core/results/types.js";
import { debugStep } from "../../core/debug.js";
import {
  deliveryNeedsAttention,
  deliveryProblemLines,
  deliveryReport,
  describeDelivery,
  type TelemetryOutcome,
} from "../../core/telemetry/index.js";

/** The telemetry reporter's logger, writing to the invocation's log (fields as JSON, never secrets). */
export function invocationLogger(context: InvocationContext): TelemetryLogger {
  const line = (message: string, fields?: Record<string, unknown>) =>
    fields ? `${message} ${JSON.stringify(fields)}` : message;
  return {
    info: (message, fields) => context.log(line(message, fields)),
    warn: (message, fields) => context.warn(line(message, fields)),
  };
}

/** One line per run for the host's log stream: what an on-call engineer greps for first. */
export function logRunSummary(
  context: InvocationContext,
  report: RunReport,
  telemetry: TelemetryOutcome | undefined,
): void {
  const { byOutcome, total, durationMs } = report.summary;
  const counts = Object.entries(byOutcome)
    .filter(([, n]) => n > 0)
    .map(([outcome, n]) => `${outcome}=${n}`)
    .join(" ");
  const message = `probe run ${report.runId} (${report.trigger}): ${total} probes in ${Math.round(durationMs)} ms: ${counts}`;
  if (report.summary.ok) context.log(message);
  else context.warn(message);
  for (const r of report.results) {
    if (r.outcome === "pass" || r.outcome === "skipped") continue;
    const log = r.outcome === "security" ? context.error.bind(context) : context.warn.bind(context);
    log(
      `${r.target}/${r.probe}: ${r.outcome}: ${r.message}${r.diagnosis ? ` [${r.diagnosis.cause}] fix: ${r.diagnosis.fix}` : ""}`,
    );
  }
  if (!telemetry) {
    context.warn("APPLICATIONINSIGHTS_CONNECTION_STRING is not set: no availability results were sent.");
    return;
  }
  // What was delivered (from earlier runs too) and what still waits; then why anything was not
  // accepted (host, status or error, fix) and a damaged state. Never silent: an outage of ingestion
  // or of the state is visible in the log.
  const line = describeDelivery(telemetry, "kept nowhere: no AzureWebJobsStorage to keep them in");
  if (deliveryNeedsAttention(telemetry) || telemetry.notAccepted.length > 0) context.warn(line);
  else context.log(line);
  for (const problem of deliveryProblemLines(telemetry)) context.warn(problem);
  debugStep("delivery", { ...deliveryReport(telemetry) });
}
