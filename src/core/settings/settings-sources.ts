import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { SettingsError } from "../errors.js";
import { displayPath } from "./looks-like-secret.js";
import { parseSettingsFile } from "./settings-file.js";

/** The raw settings a run is given: the process environment, or the Functions host's app settings. */
export type SettingsEnv = Readonly<Record<string, string | undefined>>;

export const readUtf8 = (path: string): string => readFileSync(path, "utf8");

/** What a run's settings come from: the merged values, and every CA file to trust. */
export interface SettingsSources {
  values: Record<string, string>;
  /**
   * NODE_EXTRA_CA_CERTS from the settings file and from the environment, both: a shell that already
   * sets it (corporate machines do, for their proxy's CA) must not drop the sandbox's CA that the
   * file names, nor the file drop the corporate one.
   */
  extraCaFiles: string[];
}

/**
 * The settings record a run uses: the settings file (if any: `.env` or `local.settings.json`)
 * overlaid by `env`, so that a value set in the environment wins, as with `node --env-file`. Empty
 * values count as unset (an empty app setting in Azure is a common leftover).
 */
export function readSettingsEnv(
  env: SettingsEnv,
  options: { envFile?: string; cwd?: string; readTextFile?: (path: string) => string } = {},
): SettingsSources {
  let fromFile: Record<string, string> = {};
  if (options.envFile !== undefined) {
    const path = resolve(options.cwd ?? process.cwd(), options.envFile);
    let text: string;
    try {
      text = (options.readTextFile ?? readUtf8)(path);
    } catch (error) {
      throw new SettingsError([{ setting: "--settings-file", problem: `cannot read ${displayPath(path)}` }], {
        cause: error,
      });
    }
    fromFile = parseSettingsFile(text, displayPath(path));
  }
  const values: Record<string, string> = { ...fromFile };
  for (const [k, v] of Object.entries(env)) if (v !== undefined && v !== "") values[k] = v;
  const extraCaFiles = [
    ...new Set([fromFile.NODE_EXTRA_CA_CERTS, env.NODE_EXTRA_CA_CERTS].filter((f): f is string => Boolean(f))),
  ];
  return { values, extraCaFiles };
}
