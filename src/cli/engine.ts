import { resolve } from "node:path";
import { SettingsError } from "../core/errors.js";
import { unresolvedValueProblem } from "../core/settings/setting-values.js";
import { createProbeEngine, type ProbeEngine } from "../core/probes/engine.js";
import { stateInFolder, type ProbeState } from "../core/state/index.js";
import type { ProbeConfig } from "../core/settings/types.js";
import type { CliIo } from "./io.js";

/** The CLI setting that names the state folder when `--state-dir` is not given. */
export const STATE_DIR_SETTING = "PROBE_STATE_DIR";

/**
 * The CLI's probe state: `--state-dir DIR`, else PROBE_STATE_DIR, else none (a run keeps
 * nothing, and exits 3 when ingestion did not take its results). Says once on stderr what it keeps.
 */
export function cliState(
  option: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
  config: ProbeConfig,
  io: CliIo,
): ProbeState | undefined {
  const dir = option ?? env[STATE_DIR_SETTING];
  if (dir === undefined || dir.trim() === "") return undefined;
  // A placeholder left from an example would otherwise become a folder of that name.
  const problem = unresolvedValueProblem(dir);
  if (problem)
    throw new SettingsError([{ setting: option === undefined ? STATE_DIR_SETTING : "--state-dir", problem }]);
  const state = stateInFolder(resolve(io.cwd, dir), config, io.now);
  if (!state.keepsTokens) {
    io.stderr.write(
      `state: ${state.store.description} keeps the outbox and token summaries; the expired-token harvest stays in memory (set PROBE_STATE_KEY to keep it, sealed)\n`,
    );
  }
  return state;
}

/** The engine of a CLI run or watch: the test's dispatcher and clock when given, the state when kept. */
export function createCliEngine(config: ProbeConfig, io: CliIo, state: ProbeState | undefined): ProbeEngine {
  return createProbeEngine(config, {
    ...(io.dispatcher ? { dispatcher: io.dispatcher } : {}),
    ...(io.now ? { now: io.now } : {}),
    ...(state ? { state } : {}),
  });
}
