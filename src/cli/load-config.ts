import { stat } from "node:fs/promises";
import { resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { SettingsError } from "../core/errors.js";
import { loadSettings, readSettingsEnv } from "../core/settings/load-settings.js";
import type { ProbeConfig } from "../core/settings/types.js";
import type { CliIo } from "./io.js";
import { displayPath } from "../core/settings/looks-like-secret.js";

/**
 * How long `--env-file` waits for a file that is not there yet. `apim-smoke sandbox ... &` returns
 * control at once and writes its settings file a few seconds later, once the tenant, gateway and
 * ingestion listen; the README's next line is `run --env-file .sandbox/sandbox.env`.
 */
export const ENV_FILE_WAIT_MS = 30_000;

/**
 * Settings from the environment overlaid on an optional settings file (`.env` or
 * `local.settings.json`), every one validated before the first request; throws SettingsError.
 */
export async function loadCliConfig(io: CliIo, envFile: string | undefined): Promise<{ env: Record<string, string>; config: ProbeConfig }> {
  if (envFile !== undefined) await waitForFile(io, envFile);
  const { values, extraCaFiles } = readSettingsEnv(io.env, { cwd: io.cwd, ...(envFile !== undefined ? { envFile } : {}) });
  const config = loadSettings(values, { cwd: io.cwd, extraCaFiles });
  for (const warning of config.settingWarnings ?? []) io.stderr.write(`warning: ${warning}\n`);
  return { env: values, config };
}

/** Waits, bounded, for `file` to exist; says so once on stderr; throws naming it when time is up. */
async function waitForFile(io: CliIo, file: string, timeoutMs = ENV_FILE_WAIT_MS): Promise<void> {
  const path = resolve(io.cwd, file);
  // The process's own clock, not io.now: a test's frozen probe clock must not make this wait forever.
  const deadline = performance.now() + timeoutMs;
  let announced = false;
  for (;;) {
    try {
      await stat(path);
      return;
    } catch {
      // not there (yet)
    }
    if (performance.now() >= deadline || io.signal?.aborted) {
      throw new SettingsError([
        { setting: "--env-file", problem: `${displayPath(path)} does not exist (waited ${Math.round(timeoutMs / 1000)} s; is \`apim-smoke sandbox\` running?)` },
      ]);
    }
    if (!announced) {
      io.stderr.write(`waiting for ${displayPath(file)} (up to ${Math.round(timeoutMs / 1000)} s)...\n`);
      announced = true;
    }
    await sleep(100);
  }
}
