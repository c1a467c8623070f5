import { resolve } from "node:path";
import { changedApis } from "../../apiops/changes.js";
import { readApiopsFolder } from "../../apiops/folder.js";
import { UsageError } from "../../core/errors.js";
import type { TableView } from "../../core/results/table.js";
import type { ProbeConfig } from "../../core/settings/types.js";
import { parseCommandArgs, toFormat, toProbeNames } from "../args.js";
import { EXIT_OK, type Command } from "../io.js";
import { loadCliConfig, SETTINGS_FILE_OPTIONS } from "../load-config.js";
import { prepareOutputFile, runAndReport } from "../run-report.js";
import { cliState, createCliEngine } from "../engine.js";
import { createCliTelemetry } from "../telemetry.js";
import { lendIdentityEndpoint } from "../identity-endpoint.js";

export const RUN_OPTIONS = {
  target: { type: "string", multiple: true },
  probe: { type: "string", multiple: true },
  format: { type: "string" },
  junit: { type: "string" },
  ...SETTINGS_FILE_OPTIONS,
  apiops: { type: "string" },
  "changed-since": { type: "string" },
  "state-dir": { type: "string" },
  verbose: { type: "boolean" },
  quiet: { type: "boolean" },
} as const;

/** `--verbose` (every row) or `--quiet` (only what did not pass); neither: the table decides by size. */
export function toTableView(values: {
  verbose?: boolean | undefined;
  quiet?: boolean | undefined;
}): TableView | undefined {
  if (values.verbose && values.quiet) throw new UsageError("--verbose and --quiet: give one");
  return values.verbose ? "full" : values.quiet ? "quiet" : undefined;
}

/** `apim-smoke run [--target NAME]... [--probe NAME]... [--format table|json] [--junit FILE] [--settings-file FILE]` */
export const runCommand: Command = {
  summary: "run the probe matrix once; exit 0 when every probe passed or was skipped",
  usage:
    "usage: apim-smoke run [--target NAME]... [--probe NAME]... [--format table|json] [--verbose | --quiet] [--junit FILE] [--settings-file FILE] [--state-dir DIR] [--apiops DIR [--changed-since GIT-REF]]",
  async run(args, io) {
    const values = parseCommandArgs(args, RUN_OPTIONS);
    const format = toFormat(values.format);
    const view = toTableView(values);
    const probes = toProbeNames(values.probe);
    if (values["changed-since"] !== undefined && values.apiops === undefined)
      throw new UsageError("--changed-since needs --apiops DIR (the folder whose changes decide what to probe)");
    // --apiops DIR: the folder the preflight reads, unless PROBE_APIOPS_DIR already names one (the sandbox's copy).
    const apiopsDir = values.apiops === undefined ? undefined : resolve(io.cwd, values.apiops);
    const withFolder =
      apiopsDir && !io.env.PROBE_APIOPS_DIR ? { ...io, env: { ...io.env, PROBE_APIOPS_DIR: apiopsDir } } : io;
    const { env, config } = await loadCliConfig(withFolder, values);
    await prepareOutputFile(io, "--junit", values.junit);
    let targets = values.target;
    if (apiopsDir !== undefined && values["changed-since"] !== undefined) {
      const selected = selectChanged(config, apiopsDir, values["changed-since"], io);
      if (selected.length === 0) return EXIT_OK;
      targets = [...(targets ?? []), ...selected].filter((t, i, all) => all.indexOf(t) === i);
    }
    const state = cliState(values["state-dir"], env, config, io);
    const restoreIdentity = lendIdentityEndpoint(env);
    const engine = createCliEngine(config, io, state);
    const telemetry = createCliTelemetry(env, config);
    try {
      const { exitCode } = await runAndReport(
        engine,
        config,
        {
          format,
          ...(view ? { view } : {}),
          ...(targets ? { targets } : {}),
          ...(probes ? { probes } : {}),
          ...(values.junit ? { junit: values.junit } : {}),
          ...(state ? { state } : {}),
        },
        io,
        telemetry,
      );
      return exitCode;
    } finally {
      await telemetry?.close();
      await engine.close();
      restoreIdentity();
    }
  },
};

/**
 * The targets whose API's artifacts changed since `ref` (a post-publish check probes what was just
 * published). A target is its API by `apiopsApi`, else by its name. Says what it chose on stderr.
 */
function selectChanged(
  config: ProbeConfig,
  dir: string,
  ref: string,
  io: Parameters<typeof runCommand.run>[1],
): string[] {
  const folder = readApiopsFolder(dir);
  const changed = changedApis(folder, ref);
  const apiOf = (t: ProbeConfig["targets"][number]) => t.apiops?.api ?? t.name;
  const selected = changed.all
    ? config.targets.map((t) => t.name)
    : config.targets.filter((t) => changed.apis.has(apiOf(t))).map((t) => t.name);
  io.stderr.write(
    changed.all
      ? `changed since ${ref}: ${changed.because}, which every API shares: probing all ${selected.length} target(s)\n`
      : selected.length === 0
        ? `changed since ${ref}: no probed API (${changed.apis.size === 0 ? "nothing changed" : `changed: ${[...changed.apis].join(", ")}`}); nothing to probe\n`
        : `changed since ${ref}: probing ${selected.join(", ")}\n`,
  );
  return selected;
}
