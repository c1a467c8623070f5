import { mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { join, relative, resolve } from "node:path";
import { PolicyError, UsageError } from "../../core/errors.js";
import { CLOUD_NAMES, CLOUDS, isCloudName, type CloudName } from "../../entra/clouds.js";
import { SECRET_SETTINGS } from "../../core/settings/env-schema.js";
import { displayPath } from "../../core/settings/looks-like-secret.js";
import {
  ESTATE_KEY_SETTING,
  isScenarioName,
  SANDBOX_NAMED_VALUES,
  SCENARIO_NAMES,
  SCENARIOS,
  startSandbox,
  type Sandbox,
  type ScenarioName,
} from "../../sandbox/index.js";
import { parseCommandArgs } from "../args.js";
import { EXIT_OK, type CliIo, type Command } from "../io.js";
import { readNamedValueOptions } from "./policy-check.js";

export const SANDBOX_OPTIONS = {
  scenario: { type: "string" },
  cloud: { type: "string" },
  "token-lifetime": { type: "string" },
  "state-dir": { type: "string" },
  policy: { type: "string" },
  apiops: { type: "string" },
  "named-value": { type: "string", multiple: true },
  "named-values": { type: "string" },
} as const;

/**
 * A named value the sandbox has no value for (a secret or Key Vault one: APIM resolves it at run time,
 * an APIOps folder does not hold it) is the user's to give: a usage error saying how, never a value.
 */
export function namedValueHint(error: unknown): unknown {
  if (error instanceof PolicyError && error.namedValue !== undefined)
    return new UsageError(
      `${error.message}: give the sandbox a value for it with --named-value ${error.namedValue}=VALUE (or --named-values FILE)`,
      { cause: error },
    );
  return error;
}

/** `--policy FILE`: the user's own API policy for the sandbox gateway; unreadable is a usage error. */
export async function readPolicyOption(cwd: string, file: string | undefined): Promise<string | undefined> {
  if (file === undefined) return undefined;
  try {
    return await readFile(resolve(cwd, file), "utf8");
  } catch {
    throw new UsageError(`--policy: cannot read ${displayPath(file)}`);
  }
}

/**
 * Sandbox settings that are secrets besides the probe's own: the managed-identity endpoint's header
 * value is what stands between any local process and the identity's tokens.
 */
const SANDBOX_SECRET_SETTINGS = ["IDENTITY_HEADER", ESTATE_KEY_SETTING] as const;

/**
 * `NAME=value` lines that read the same with Node's dotenv parser (`--settings-file`) and with a
 * POSIX shell's `.`/`source`: a value with anything a shell would interpret (the connection string's
 * `;`, spaces, `$`) is single-quoted, which both take literally. A value with a quote or a line break
 * has no spelling both agree on; the sandbox never generates one, so it is refused rather than
 * written wrong.
 */
export function envFileText(settings: Readonly<Record<string, string>>): string {
  return Object.entries(settings)
    .map(([name, value]) => {
      if (/['\n\r]/.test(value))
        throw new Error(
          `sandbox setting ${name} has a quote or line break: no settings-file spelling a shell and Node read alike`,
        );
      return `${name}=${/^[\w./:@%+,=-]*$/.test(value) ? value : `'${value}'`}`;
    })
    .map((line) => `${line}\n`)
    .join("");
}

export function toScenario(value: string | undefined): ScenarioName {
  if (value === undefined) return "healthy";
  if (!isScenarioName(value))
    throw new UsageError(`--scenario: not a scenario name; scenarios: ${SCENARIO_NAMES.join(", ")}`);
  return value;
}

/** `--apiops DIR`: an APIOps folder to publish; a missing one is a usage error naming it. */
export async function apiopsOption(cwd: string, dir: string): Promise<string> {
  const path = resolve(cwd, dir);
  try {
    if ((await stat(path)).isDirectory()) return path;
  } catch {
    // reported below
  }
  throw new UsageError(`--apiops: ${displayPath(dir)} is not a folder`);
}

export function toCloud(value: string | undefined): CloudName {
  if (value === undefined) return "public";
  if (!isCloudName(value)) throw new UsageError(`--cloud: not a cloud name; clouds: ${CLOUD_NAMES.join(", ")}`);
  return value;
}

export function toTokenLifetime(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const seconds = Number(value);
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > 86_400)
    throw new UsageError("--token-lifetime must be a whole number of seconds between 1 and 86400");
  return seconds;
}

/** How often `sandbox` says what its ingestion accepted since it last said. */
const INGESTION_REPORT_INTERVAL_MS = 1_000;

/**
 * Every second with new `/track` calls, one stderr line: `sandbox ingestion: accepted 9 of 9 items
 * (availability results: 9 in all)`, with the statuses other than 200, so a refused batch shows.
 */
function reportIngestion(ingestion: Sandbox["ingestion"], io: CliIo): { stop(): void } {
  let seen = ingestion.requests().length;
  const say = (): void => {
    const fresh = ingestion.requests().slice(seen);
    if (fresh.length === 0) return;
    seen += fresh.length;
    const received = fresh.reduce((n, r) => n + r.itemsReceived, 0);
    const accepted = fresh.reduce((n, r) => n + r.itemsAccepted, 0);
    const refused = fresh.filter((r) => r.status !== 200).map((r) => r.status);
    io.stderr.write(
      `sandbox ingestion: accepted ${accepted} of ${received} item${received === 1 ? "" : "s"}` +
        `${refused.length > 0 ? ` (answered ${[...new Set(refused)].join(", ")} to ${refused.length} of ${fresh.length} requests)` : ""}` +
        `; availability results: ${ingestion.availability().length} in all\n`,
    );
  };
  const timer = setInterval(say, INGESTION_REPORT_INTERVAL_MS);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      say();
    },
  };
}

/**
 * `apim-smoke sandbox [--scenario NAME] [--policy FILE] [--token-lifetime S] [--state-dir DIR]`: the emulated tenant,
 * gateway and ingestion in the foreground until Ctrl-C. The settings that point a probe at it go to
 * `<state-dir>/sandbox.env` (mode 600: it holds the sandbox's generated secrets); stdout shows them with
 * the secret ones masked, so the terminal and its scrollback never hold a secret.
 */
export const sandboxCommand: Command = {
  summary: "run the embedded sandbox (Entra tenant, APIM gateway, App Insights ingestion) until Ctrl-C",
  usage:
    "usage: apim-smoke sandbox [--scenario NAME] [--cloud public|usgov|china] [--policy FILE | --apiops DIR] [--named-value NAME=VALUE]... [--named-values FILE] [--token-lifetime S] [--state-dir DIR]",
  async run(args, io) {
    const values = parseCommandArgs(args, SANDBOX_OPTIONS);
    const scenario = toScenario(values.scenario);
    const cloud = toCloud(values.cloud);
    const tokenLifetimeSeconds = toTokenLifetime(values["token-lifetime"]);
    const policyXml = await readPolicyOption(io.cwd, values.policy);
    const namedValues = await readNamedValueOptions(io, values["named-value"], values["named-values"]);
    // resolve, not join: `--state-dir /abs/path` is that path, not one under the current folder.
    const stateDir = resolve(io.cwd, values["state-dir"] ?? ".sandbox");
    await mkdir(stateDir, { recursive: true });
    // One sandbox per state folder: a second would overwrite the first one's env file, and delete
    // it when it stops, under a probe still pointed at the first.
    const releaseLock = await lockStateDir(stateDir, values["state-dir"] ?? ".sandbox");
    const envFile = join(stateDir, "sandbox.env");
    // A file left by an earlier sandbox names ports nobody listens on any more: remove it first, so a
    // `run --settings-file` started beside this command waits for this sandbox's file, not the stale one.
    await rm(envFile, { force: true });

    let sandbox: Awaited<ReturnType<typeof startSandbox>>;
    try {
      sandbox = await startSandbox({
        scenario,
        cloud,
        stateDir,
        ...(values.apiops !== undefined ? { apiops: await apiopsOption(io.cwd, values.apiops) } : {}),
        ...(tokenLifetimeSeconds ? { tokenLifetimeSeconds } : {}),
        ...(policyXml !== undefined ? { policyXml } : {}),
        namedValues,
      });
    } catch (error) {
      await releaseLock();
      throw namedValueHint(error);
    }
    try {
      // Written whole, then renamed into place: a reader waiting for the file never sees half of it.
      const partial = `${envFile}.partial`;
      await writeFile(partial, envFileText(sandbox.settings), { mode: 0o600 });
      await rename(partial, envFile);
      const secret = new Set<string>([...SECRET_SETTINGS, ...SANDBOX_SECRET_SETTINGS]);
      io.stdout.write(
        [
          `sandbox running: scenario ${scenario} (${SCENARIOS[scenario].description})${cloud === "public" ? "" : `, ${CLOUDS[cloud].displayName}`}`,
          ...(policyXml !== undefined
            ? [
                `  API policy       ${values.policy} (named values: ${Object.keys(SANDBOX_NAMED_VALUES)
                  .map((n) => `{{${n}}}`)
                  .join(", ")})`,
              ]
            : []),
          `  Entra tenant     ${sandbox.entra.origin}`,
          `  APIM gateway     ${sandbox.gateway.origin}`,
          `  App Insights     ${sandbox.ingestion.origin}`,
          "",
          "settings (secrets masked; all of them are in the env file):",
          ...Object.entries(sandbox.settings).map(([k, v]) => `  ${k}=${secret.has(k) ? "********" : v}`),
          "",
          `env file: ${envFile}`,
          `try it:   ./apim-smoke run --settings-file ${relative(io.cwd, envFile) || envFile}`,
          "Ctrl-C stops the sandbox.",
          "",
        ].join("\n"),
      );
      // What its ingestion accepted, as `demo` says: the other half of what a probe run printed.
      const reporting = reportIngestion(sandbox.ingestion, io);
      try {
        await new Promise<void>((resolve) => {
          if (!io.signal || io.signal.aborted) return resolve();
          io.signal.addEventListener("abort", () => resolve(), { once: true });
        });
      } finally {
        reporting.stop();
      }
      io.stderr.write("sandbox stopping\n");
    } finally {
      await rm(envFile, { force: true });
      await sandbox.close();
      await releaseLock();
    }
    return EXIT_OK;
  },
};

/**
 * Takes `<state-dir>/sandbox.pid` for this process; refused, naming the owner, while another living
 * process holds it. A file left by a process that is gone (killed) is taken over.
 */
async function lockStateDir(stateDir: string, shown: string): Promise<() => Promise<void>> {
  const lock = join(stateDir, "sandbox.pid");
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(lock, `${process.pid}\n`, { flag: "wx", mode: 0o600 });
      return () => rm(lock, { force: true });
    } catch (error) {
      if ((error as { code?: unknown }).code !== "EEXIST") throw error;
    }
    const owner = Number((await readFile(lock, "utf8").catch(() => "")).trim());
    if (Number.isInteger(owner) && owner > 0 && isAlive(owner)) {
      throw new UsageError(
        `--state-dir ${displayPath(shown)}: a sandbox is already running there (PID ${owner}); stop it, or give this one its own --state-dir`,
      );
    }
    await rm(lock, { force: true });
  }
  throw new UsageError(`--state-dir ${displayPath(shown)}: cannot take ${displayPath(lock)}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, owned by someone else.
    return (error as { code?: unknown }).code === "EPERM";
  }
}
