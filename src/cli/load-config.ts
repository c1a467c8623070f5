import { loadSettings, readSettingsEnv } from "../core/settings/load-settings.js";
import type { ProbeConfig } from "../core/settings/types.js";
import type { CliIo } from "./io.js";

/** Settings from the environment overlaid on an optional `.env`-style file; throws SettingsError. */
export function loadCliConfig(io: CliIo, envFile: string | undefined): { env: Record<string, string>; config: ProbeConfig } {
  const env = readSettingsEnv(io.env, { cwd: io.cwd, ...(envFile !== undefined ? { envFile } : {}) });
  return { env, config: loadSettings(env, { cwd: io.cwd }) };
}
