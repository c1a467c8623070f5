import { Cron } from "croner";
import { SettingsError, UsageError } from "../../core/errors.js";
import { DEFAULT_SCHEDULE } from "../../core/settings/defaults.js";
import { parseCommandArgs, toFormat, toProbeNames } from "../args.js";
import { EXIT_OK, type Command } from "../io.js";
import { loadCliConfig } from "../load-config.js";
import { prepareOutputFile, runAndReport } from "../run-report.js";
import { cliState, createCliEngine } from "../engine.js";
import { createCliTelemetry } from "../telemetry.js";
import { lendIdentityEndpoint } from "../identity-endpoint.js";
import { RUN_OPTIONS, toTableView } from "./run.js";
import { NcrontabSchedule } from "../ncrontab.js";

/**
 * `apim-smoke watch --schedule "<6-field NCRONTAB>"`: the run once at start, then on a schedule read
 * as the Functions host reads a timer's (UTC), one engine for the whole watch so MSAL's cache stays
 * warm and expired tokens get harvested. A tick that comes while the previous run still goes is
 * skipped (croner `protect`). Ends on SIGINT.
 */
export const watchCommand: Command = {
  summary: "run the probe matrix at start, then on a 6-field NCRONTAB schedule (UTC) until interrupted",
  usage: `usage: apim-smoke watch [--schedule "<6-field NCRONTAB>"] [--target NAME]... [--probe NAME]... [--format table|json] [--verbose | --quiet] [--junit FILE] [--settings-file FILE] [--state-dir DIR]`,
  async run(args, io) {
    const values = parseCommandArgs(args, { ...RUN_OPTIONS, schedule: { type: "string" } });
    const format = toFormat(values.format);
    const view = toTableView(values);
    const probes = toProbeNames(values.probe);
    const { env, config } = await loadCliConfig(io, values);
    await prepareOutputFile(io, "--junit", values.junit);
    const expression = values.schedule ?? env.PROBE_SCHEDULE ?? DEFAULT_SCHEDULE;
    const schedule = scheduleOf(expression, values.schedule === undefined && env.PROBE_SCHEDULE !== undefined);
    let job: Cron | undefined;
    const state = cliState(values["state-dir"], env, config, io);
    const restoreIdentity = lendIdentityEndpoint(env);
    const engine = createCliEngine(config, io, state);
    const telemetry = createCliTelemetry(env, config);
    const options = {
      format,
      ndjson: true,
      ...(view ? { view } : {}),
      ...(values.target ? { targets: values.target } : {}),
      ...(probes ? { probes } : {}),
      ...(values.junit ? { junit: values.junit } : {}),
      ...(state ? { state } : {}),
    };
    let tick = 0;
    const runOnce = async (): Promise<void> => {
      tick++;
      // Each run stamped, so a scrollback or a log file says when each table was taken.
      // JSON carries its own startedAt, one run a line (NDJSON), so stdout stays parseable.
      const stamp = `run ${tick} at ${new Date().toISOString()}${tick === 1 ? " (at start)" : ""}`;
      if (format === "table") io.stdout.write(`${tick > 1 ? "\n" : ""}== ${stamp}\n`);
      else io.stderr.write(`${stamp}\n`);
      try {
        await runAndReport(engine, config, options, io, telemetry);
      } catch (error) {
        io.stderr.write(`run failed: ${error instanceof Error ? error.name : "error"}\n`);
      }
    };
    try {
      // Once at start, as the Functions host's runOnStartup, so a watch started at 10:01 on a
      // five-minute schedule shows the matrix at once; then on the schedule.
      await runOnce();
      if (!io.signal?.aborted) {
        // protect: a tick that comes while the previous run still goes is skipped.
        job = new Cron(
          schedule.normalized,
          { mode: "6-part", timezone: "UTC", domAndDow: true, protect: true },
          runOnce,
        );
        io.stderr.write(
          `watching: next run at ${job.nextRun()?.toISOString() ?? "never"} (UTC schedule ${expression})\n`,
        );
        await new Promise<void>((resolve) => {
          if (!io.signal || io.signal.aborted) return resolve();
          io.signal.addEventListener("abort", () => resolve(), { once: true });
        });
      }
    } finally {
      job?.stop();
      await telemetry?.close();
      await engine.close();
      restoreIdentity();
    }
    return EXIT_OK;
  },
};

/** The schedule; one from PROBE_SCHEDULE that cannot be read is named as that setting, not as --schedule. */
function scheduleOf(expression: string, fromSetting: boolean): NcrontabSchedule {
  try {
    return new NcrontabSchedule(expression);
  } catch (error) {
    if (!fromSetting || !(error instanceof UsageError)) throw error;
    throw new SettingsError([{ setting: "PROBE_SCHEDULE", problem: error.message.replace(/^--schedule /, "") }], {
      cause: error,
    });
  }
}
