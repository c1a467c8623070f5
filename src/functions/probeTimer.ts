import { app, type InvocationContext, type Timer } from "@azure/functions";
import { DEFAULT_SCHEDULE } from "../core/settings/defaults.js";
import { invocationLogger, logRunSummary } from "./support/invocation-logger.js";
import { functionsNodeVersionProblem } from "./support/node-version.js";

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
  const tooOld = functionsNodeVersionProblem(process.versions.node);
  if (tooOld) {
    context.error(tooOld);
    throw new Error(tooOld);
  }
  // Imported on the first run, not while the worker indexes the app (see probeHttp.ts).
  const { sharedProbeRuntime } = await import("./support/probe-runtime.js");
  const { report, telemetry } = await sharedProbeRuntime().run({
    trigger: "timer",
    runId: context.invocationId,
    logger: invocationLogger(context),
  });
  logRunSummary(context, report, telemetry);
}

app.timer("probeTimer", { schedule: timerSchedule(process.env), handler: probeTimer });
