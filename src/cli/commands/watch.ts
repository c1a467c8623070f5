import { Cron } from "croner";
import { UsageError } from "../../core/errors.js";
import { DEFAULT_SCHEDULE } from "../../core/settings/defaults.js";
import { parseCommandArgs, toFormat, toProbeNames } from "../args.js";
import { EXIT_OK, type Command } from "../io.js";
import { loadCliConfig } from "../load-config.js";
import { prepareOutputFile, runAndReport } from "../run-report.js";
import { cliState, createCliEngine } from "../state.js";
import { createCliTelemetry } from "../telemetry.js";
import { RUN_OPTIONS } from "./run.js";


/**
 * `apim-smoke watch --schedule "<6-field NCRONTAB>"`: the run on a schedule (UTC, like Functions
 * timers), one engine for the whole watch so MSAL's cache stays warm and expired tokens get harvested.
 * A tick that comes while the previous run still goes is skipped (croner `protect`). Ends on SIGINT.
 */
export const watchCommand: Command = {
  summary: "run the probe matrix on a 6-field NCRONTAB schedule until interrupted",
  usage: `usage: apim-smoke watch [--schedule "<6-field NCRONTAB>"] [--target NAME]... [--probe NAME]... [--format table|json] [--junit FILE] [--settings-file FILE] [--state-dir DIR]`,
  async run(args, io) {
    const values = parseCommandArgs(args, { ...RUN_OPTIONS, schedule: { type: "string" } });
    const format = toFormat(values.format);
    const probes = toProbeNames(values.probe);
    const { env, config } = await loadCliConfig(io, values);
    await prepareOutputFile(io, "--junit", values.junit);
    const schedule = values.schedule ?? env.PROBE_SCHEDULE ?? DEFAULT_SCHEDULE;
    if (schedule.trim().split(/\s+/).length !== 6) {
      throw new UsageError("--schedule must be a 6-field NCRONTAB expression (second minute hour day month weekday)");
    }
    let job: Cron | undefined;
    const state = cliState(values["state-dir"], env, config, io);
    const engine = createCliEngine(config, io, state);
    const telemetry = createCliTelemetry(env, config);
    const options = {
      format,
      ndjson: true,
      ...(values.target ? { targets: values.target } : {}),
      ...(probes ? { probes } : {}),
      ...(values.junit ? { junit: values.junit } : {}),
      ...(state ? { state } : {}),
    };
    try {
      await new Promise<void>((resolve, reject) => {
        try {
          let tick = 0;
          job = new Cron(schedule, { mode: "6-part", timezone: "UTC", protect: true }, async () => {
            tick++;
            // Each tick stamped, so a scrollback or a log file says when each table was taken.
            // JSON carries its own startedAt, one run a line (NDJSON), so stdout stays parseable.
            const stamp = `run ${tick} at ${new Date().toISOString()}`;
            if (format === "table") io.stdout.write(`${tick > 1 ? "\n" : ""}== ${stamp}\n`);
            else io.stderr.write(`${stamp}\n`);
            try {
              await runAndReport(engine, config, options, io, telemetry);
            } catch (error) {
              io.stderr.write(`run failed: ${error instanceof Error ? error.name : "error"}\n`);
            }
          });
        } catch (error) {
          reject(new UsageError("--schedule is not a valid NCRONTAB expression", { cause: error }));
          return;
        }
        io.stderr.write(`watching: next run at ${job.nextRun()?.toISOString() ?? "never"} (UTC schedule ${schedule})\n`);
        if (io.signal?.aborted) resolve();
        io.signal?.addEventListener("abort", () => resolve(), { once: true });
      });
    } finally {
      job?.stop();
      await telemetry?.close();
      await engine.close();
    }
    return EXIT_OK;
  },
};
