import { app, type InvocationContext, type Timer } from "@azure/functions";
import { DEFAULT_SCHEDULE } from "../core/settings/defaults.js";
import { preloadTelemetry } from "../core/telemetry/index.js";
import { invocationLogger, logRunSummary } from "./support/invocation-logger.js";
import { sharedProbeRuntime } from "./support/probe-runtime.js";

/** `%PROBE_SCHEDULE%` when the app setting exists (the host fails to index a missing one), else the documented default. */
export function timerSchedule(env: Readonly<Record<string, string | undefined>>): string {
  return env.PROBE_SCHEDULE ? "%PROBE_SCHEDULE%" : DEFAULT_SCHEDULE;
}

/** The scheduled probe run: every probe of every target, reported as availability results. */
export async function probeTimer(timer: Timer, context: InvocationContext): Promise<void> {
  if (timer.isPastDue) {
    // A late run still runs: skipping it would leave a gap that looks like a dead probe.
    context.warn(`probe schedule is past due (last ${timer.scheduleStatus?.last ?? "unknown"}); running now`);
  }
  const { report, telemetry } = await sharedProbeRuntime().run({
    trigger: "timer",
    runId: context.invocationId,
    logger: invocationLogger(context),
  });
  logRunSummary(context, report, telemetry);
}

// Load the telemetry library at cold start, not inside the first measured run.
void preloadTelemetry().catch(() => undefined);

app.timer("probeTimer", { schedule: timerSchedule(process.env), handler: probeTimer });
