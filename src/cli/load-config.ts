import { existsSync } from "node:fs";
import { stat } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { UsageError } from "../core/errors.js";
import { loadSettings } from "../core/settings/load-settings.js";
import { readSettingsEnv } from "../core/settings/settings-sources.js";
import type { ProbeConfig } from "../core/settings/types.js";
import type { CliIo } from "./io.js";
import { displayPath } from "../core/settings/looks-like-secret.js";

/**
 * How long `--settings-file` waits for a sandbox's settings file that is not there yet.
 * `apim-smoke sandbox ... &` returns control at once and writes its settings file a few seconds
 * later, once the tenant, gateway and ingestion listen; the README's next line is
 * `run --settings-file .sandbox/sandbox.env`.
 */
export const SETTINGS_FILE_WAIT_MS = 30_000;

/**
 * The settings-file option of every command that reads settings. `--settings-file` is the spelling
 * to use: Node.js itself takes `--env-file` from anywhere on its command line, even after the
 * script's name, and exits 9 before the CLI runs when the file is not there yet; that is how an
 * installed `apim-smoke` (npm's shims run `node <script> <args>`) is started on every platform.
 * `--env-file` is still read, for `./apim-smoke` from a checkout (which ends Node's options with `--`)
 * and for files that already exist.
 */
export const SETTINGS_FILE_OPTIONS = {
  "settings-file": { type: "string" },
  "env-file": { type: "string" },
} as const;

/** Files a Functions project or a dotenv user already has in the working directory, in the order tried. */
export const SETTINGS_FILES_FOUND_IN_CWD = ["local.settings.json", ".env"] as const;

export interface SettingsFileChoice {
  file?: string;
  /** The option (or discovery) that named it, for messages: `--settings-file`, `--env-file`, `./.env`. */
  option: string;
  /** Nothing given and nothing found: no option, no PROBE_* setting in the environment, no file here. */
  noneFound?: true;
}

/**
 * The settings file a command reads: `--settings-file`, else `--env-file` (with a note on stderr that
 * an installed command needs the other spelling), else, when the environment holds no PROBE_* setting
 * at all, `./local.settings.json` or `./.env` in the working directory, said on stderr.
 */
export function chooseSettingsFile(
  values: { "settings-file"?: string | undefined; "env-file"?: string | undefined },
  io: CliIo,
): SettingsFileChoice {
  const given = values["settings-file"];
  const legacy = values["env-file"];
  if (given !== undefined && legacy !== undefined)
    throw new UsageError("--settings-file and --env-file name the same thing: give one (--settings-file)");
  if (given !== undefined) return { file: given, option: "--settings-file" };
  if (legacy !== undefined) {
    io.stderr.write(
      "note: --env-file is also an option of Node.js itself, which an installed apim-smoke may never see; spell it --settings-file\n",
    );
    return { file: legacy, option: "--env-file" };
  }
  if (Object.keys(io.env).some((name) => name.startsWith("PROBE_") && io.env[name]))
    return { option: "the environment" };
  const found = SETTINGS_FILES_FOUND_IN_CWD.find((name) => existsSync(join(io.cwd, name)));
  if (found === undefined) return { option: "the environment", noneFound: true };
  io.stderr.write(`settings: read ./${found} (no --settings-file given and no PROBE_* setting in the environment)\n`);
  return { file: found, option: `./${found}` };
}

/**
 * Settings from the environment overlaid on an optional settings file (`.env` or
 * `local.settings.json`), every one validated before the first request; throws SettingsError.
 */
export async function loadCliConfig(
  io: CliIo,
  values: { "settings-file"?: string | undefined; "env-file"?: string | undefined },
): Promise<{ env: Record<string, string>; config: ProbeConfig }> {
  const { file, option, noneFound } = chooseSettingsFile(values, io);
  // Every required setting will be reported missing: say first where none was found.
  if (noneFound)
    io.stderr.write(
      `settings: none found (no --settings-file given, no PROBE_* setting in the environment, no ./${SETTINGS_FILES_FOUND_IN_CWD.join(" or ./")} here)\n`,
    );
  if (file !== undefined) await waitForFile(io, file, option);
  const { values: settings, extraCaFiles } = readSettingsEnv(io.env, {
    cwd: io.cwd,
    ...(file !== undefined ? { envFile: file } : {}),
  });
  const config = loadSettings(settings, { cwd: io.cwd, extraCaFiles });
  for (const warning of config.settingWarnings ?? []) io.stderr.write(`warning: ${warning}\n`);
  return { env: settings, config };
}

/** The file `apim-smoke sandbox` writes its settings to, in its --state-dir. */
const SANDBOX_SETTINGS_FILE = "sandbox.env";

/**
 * Waits, bounded, for `file` to exist when it is a sandbox's settings file (which the sandbox writes
 * a few seconds after it was started in the background); says so once on stderr. Any other file
 * that is not there is a mistyped path: named at once, not after half a minute.
 */
async function waitForFile(io: CliIo, file: string, option: string, timeoutMs = SETTINGS_FILE_WAIT_MS): Promise<void> {
  const path = resolve(io.cwd, file);
  // The process's own clock, not io.now: a test's frozen probe clock must not make this wait forever.
  const started = performance.now();
  const awaitsSandbox = basename(path) === SANDBOX_SETTINGS_FILE;
  let announced = false;
  for (;;) {
    try {
      await stat(path);
      return;
    } catch {
      // not there (yet)
    }
    const waitedMs = performance.now() - started;
    if (!awaitsSandbox || waitedMs >= timeoutMs || io.signal?.aborted) {
      throw new UsageError(
        awaitsSandbox
          ? `${option}: ${displayPath(path)} does not exist (waited ${Math.round(waitedMs / 1000)} s for \`apim-smoke sandbox\` to write it; is it running, with this --state-dir?)`
          : `${option}: ${displayPath(path)} does not exist`,
      );
    }
    if (!announced) {
      io.stderr.write(
        `waiting for ${displayPath(file)} (up to ${Math.round(timeoutMs / 1000)} s, while \`apim-smoke sandbox\` starts)...\n`,
      );
      announced = true;
    }
    await sleep(100);
  }
}
