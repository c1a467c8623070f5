import { createProbeEngine } from "../../core/probes/engine.js";
import { parseCommandArgs, toFormat, toProbeNames } from "../args.js";
import { EXIT_NOT_OK, EXIT_OK, type Command } from "../io.js";
import { loadCliConfig } from "../load-config.js";
import { prepareOutputFile, runAndReport } from "../run-report.js";
import { createCliTelemetry } from "../telemetry.js";

export const RUN_OPTIONS = {
  target: { type: "string", multiple: true },
  probe: { type: "string", multiple: true },
  format: { type: "string" },
  junit: { type: "string" },
  "env-file": { type: "string" },
} as const;

/** `apim-smoke run [--target NAME]... [--probe NAME]... [--format table|json] [--junit FILE] [--env-file FILE]` */
export const runCommand: Command = {
  summary: "run the probe matrix once; exit 0 when every probe passed or was skipped",
  usage: "usage: apim-smoke run [--target NAME]... [--probe NAME]... [--format table|json] [--junit FILE] [--env-file FILE]",
  async run(args, io) {
    const values = parseCommandArgs(args, RUN_OPTIONS);
    const format = toFormat(values.format);
    const probes = toProbeNames(values.probe);
    const { env, config } = await loadCliConfig(io, values["env-file"]);
    await prepareOutputFile(io, "--junit", values.junit);
    const engine = createProbeEngine(config, { ...(io.dispatcher ? { dispatcher: io.dispatcher } : {}), ...(io.now ? { now: io.now } : {}) });
    const telemetry = createCliTelemetry(env, config);
    try {
      const report = await runAndReport(
        engine,
        config,
        { format, ...(values.target ? { targets: values.target } : {}), ...(probes ? { probes } : {}), ...(values.junit ? { junit: values.junit } : {}) },
        io,
        telemetry,
      );
      return report.summary.ok ? EXIT_OK : EXIT_NOT_OK;
    } finally {
      await telemetry?.close();
      await engine.close();
    }
  },
};
