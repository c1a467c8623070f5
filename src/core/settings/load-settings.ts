import { resolve } from "node:path";
import { StateKey } from "../state/state-key.js";
import { ingestionAuthenticationFrom } from "../telemetry/ingestion-auth.js";
import { CLOUDS, cloudsOfSettings, type CloudName } from "../../entra/clouds.js";
import { SettingsError } from "../errors.js";
import { readCredential } from "./credentials.js";
import { DEFAULT_AUTHORITY_HOST, defaultWrongAudienceScope } from "./defaults.js";
import { envSchema, SECRET_SETTINGS, SETTING_NAMES } from "./env-schema.js";
import { Secret } from "./secret.js";
import { presentNearMiss, SETTINGS_READ_ELSEWHERE, unknownSettingWarnings } from "./setting-names.js";
import {
  clientSecretProblem,
  controlCharacterProblem,
  keyValueProblem,
  unresolvedValueProblem,
} from "./setting-values.js";
import { readUtf8, type SettingsEnv } from "./settings-sources.js";
import { readTargets } from "./targets.js";
import type { ProbeConfig } from "./types.js";

type Problem = { setting: string; problem: string };

export interface LoadSettingsOptions {
  /** Base for relative paths (targets file, certificate, CA file). Default: process.cwd(). */
  cwd?: string;
  /** Reads a text file; injectable for tests. */
  readTextFile?: (path: string) => string;
  /** CA files to trust (`readSettingsEnv`'s `extraCaFiles`); default: NODE_EXTRA_CA_CERTS of `env`. */
  extraCaFiles?: readonly string[];
}

/** A value whose reader throws a SettingsError: its problems join the others instead. */
function readOrProblem<T>(problems: Problem[], read: () => T): T | undefined {
  try {
    return read();
  } catch (error) {
    if (!(error instanceof SettingsError)) throw error;
    problems.push(...error.problems);
    return undefined;
  }
}

/**
 * Validates every setting once and returns the run configuration, or throws one SettingsError
 * listing every problem, each naming its setting. Values are never quoted in messages.
 */
export function loadSettings(env: SettingsEnv, options: LoadSettingsOptions = {}): ProbeConfig {
  const cwd = options.cwd ?? process.cwd();
  const readTextFile = options.readTextFile ?? readUtf8;
  const clean: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && v !== "") clean[k] = v;

  const problems: Problem[] = [];
  // A value that is not a value (an unresolved Key Vault reference, a sample placeholder, a key that
  // cannot be a header) is reported as such, instead of whatever else its content would fail.
  const refused = new Map<string, string>();
  for (const setting of SETTING_NAMES) {
    const value = clean[setting];
    if (value === undefined) continue;
    const problem = unresolvedValueProblem(value) ?? secretValueProblem(setting, value);
    if (problem) refused.set(setting, problem);
  }
  const parsed = envSchema.safeParse(clean);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      problems.push({ setting: String(issue.path[0] ?? "settings"), problem: issue.message });
    }
  }

  const credential = readCredential(clean, cwd, readTextFile, problems);

  if (clean.PROBE_MANAGED_IDENTITY_CLIENT_ID && clean.PROBE_CREDENTIAL !== "managed-identity") {
    problems.push({
      setting: "PROBE_MANAGED_IDENTITY_CLIENT_ID",
      problem: "is only used with PROBE_CREDENTIAL=managed-identity",
    });
  }
  if (Boolean(clean.PROBE_UNASSIGNED_CLIENT_ID) !== Boolean(clean.PROBE_UNASSIGNED_CLIENT_SECRET)) {
    const missing = clean.PROBE_UNASSIGNED_CLIENT_ID ? "PROBE_UNASSIGNED_CLIENT_SECRET" : "PROBE_UNASSIGNED_CLIENT_ID";
    problems.push({
      setting: missing,
      problem: "is required when the other PROBE_UNASSIGNED_CLIENT_* setting is set (both or neither)",
    });
  }

  const extraCaPem: string[] = [];
  for (const caFile of options.extraCaFiles ?? (clean.NODE_EXTRA_CA_CERTS ? [clean.NODE_EXTRA_CA_CERTS] : [])) {
    try {
      const pem = readTextFile(resolve(cwd, caFile));
      if (!pem.includes("-----BEGIN CERTIFICATE-----")) {
        problems.push({ setting: "NODE_EXTRA_CA_CERTS", problem: `file ${caFile} has no PEM CERTIFICATE block` });
      } else extraCaPem.push(pem);
    } catch {
      problems.push({ setting: "NODE_EXTRA_CA_CERTS", problem: `file ${caFile} cannot be read` });
    }
  }

  const targets = readTargets(clean, cwd, readTextFile, problems);
  const cloud = readCloud(clean, problems);
  const stateKey = readOrProblem(problems, () =>
    clean.PROBE_STATE_KEY ? StateKey.fromSetting(new Secret(clean.PROBE_STATE_KEY)) : undefined,
  );
  const ingestionAuth = readOrProblem(problems, () =>
    ingestionAuthenticationFrom(clean.APPLICATIONINSIGHTS_AUTHENTICATION_STRING),
  );

  if (refused.size > 0) {
    const others = problems.filter((p) => !refused.has(p.setting));
    problems.length = 0;
    problems.push(...[...refused].map(([setting, problem]) => ({ setting, problem })), ...others);
  }
  for (const p of problems) {
    if (p.problem !== "is required" && !p.problem.startsWith("is required (")) continue;
    const nearMiss = presentNearMiss(p.setting, Object.keys(clean), KNOWN_NAMES);
    if (nearMiss) p.problem += `; ${nearMiss} is set: is it misspelt?`;
  }
  const referenced = targets.flatMap((t) => (t.subscriptionKeySetting ? [t.subscriptionKeySetting] : []));
  const settingWarnings = unknownSettingWarnings(Object.keys(clean), [...KNOWN_NAMES, ...referenced]);
  if (problems.length > 0 || !parsed.success || !credential) {
    // A misspelt optional setting is said with the problems, so one round of fixes covers it too
    // (one already named as the near miss of a missing setting is not said twice).
    const ignored = settingWarnings
      .map((warning) => /^setting (\S+) (.*)$/.exec(warning))
      .filter((m): m is RegExpExecArray => m !== null && !problems.some((p) => p.problem.includes(`; ${m[1]} is set`)))
      .map((m) => ({ setting: m[1]!, problem: m[2]! }));
    throw new SettingsError(
      problems.length > 0 ? [...problems, ...ignored] : [{ setting: "settings", problem: "are invalid" }],
    );
  }
  const s = parsed.data;
  return {
    tenantId: s.PROBE_TENANT_ID,
    authorityHost: new URL(s.PROBE_AUTHORITY_HOST).origin,
    clientId: s.PROBE_CLIENT_ID,
    credential,
    ...(cloud ? { cloud } : {}),
    wrongAudienceScope: s.PROBE_WRONG_AUDIENCE_SCOPE ?? defaultWrongAudienceScope(s.PROBE_CLIENT_ID),
    wrongAudienceIsOwnApp: s.PROBE_WRONG_AUDIENCE_SCOPE === undefined,
    ...(s.PROBE_UNASSIGNED_CLIENT_ID && s.PROBE_UNASSIGNED_CLIENT_SECRET
      ? {
          unassignedClient: {
            clientId: s.PROBE_UNASSIGNED_CLIENT_ID,
            secret: new Secret(s.PROBE_UNASSIGNED_CLIENT_SECRET),
          },
        }
      : {}),
    ...(s.PROBE_EXPIRED_TOKEN ? { expiredToken: new Secret(s.PROBE_EXPIRED_TOKEN) } : {}),
    ...(stateKey ? { stateKey } : {}),
    certWarnDays: s.PROBE_CERT_WARN_DAYS,
    // Where the probe reads its own app registration's credentials (credential-expiry): the cloud's Graph.
    graphUrl: s.PROBE_GRAPH_URL ? new URL(s.PROBE_GRAPH_URL).origin : `https://${CLOUDS[cloud ?? "public"].graphHost}`,
    ...(ingestionAuth
      ? { ingestionAuth: extraCaPem.length > 0 ? { ...ingestionAuth, extraCaPem } : ingestionAuth }
      : {}),
    timeoutMs: s.PROBE_TIMEOUT_MS,
    ...(s.PROBE_RUN_BUDGET_MS !== undefined ? { runBudgetMs: s.PROBE_RUN_BUDGET_MS } : {}),
    targetConcurrency: s.PROBE_TARGET_CONCURRENCY,
    ...((s.PROBE_RUN_LOCATION ?? s.REGION_NAME) ? { runLocation: s.PROBE_RUN_LOCATION ?? s.REGION_NAME } : {}),
    extraCaPem,
    targets,
    ...(settingWarnings.length > 0 ? { settingWarnings } : {}),
  };
}

/** Every setting name the app reads, wherever it reads it. */
const KNOWN_NAMES: readonly string[] = [...SETTING_NAMES, ...SETTINGS_READ_ELSEWHERE];

/** Why a secret setting's value cannot be the secret, or undefined (the JWT setting has its own rule). */
function secretValueProblem(setting: string, value: string): string | undefined {
  if (setting === "PROBE_SUBSCRIPTION_KEY") return keyValueProblem(value);
  if (setting === "PROBE_CLIENT_SECRET" || setting === "PROBE_UNASSIGNED_CLIENT_SECRET")
    return clientSecretProblem(value);
  if ((SECRET_SETTINGS as readonly string[]).includes(setting) && setting !== "PROBE_EXPIRED_TOKEN")
    return controlCharacterProblem(value);
  return undefined;
}

/**
 * PROBE_CLOUD, else the cloud whose authority PROBE_AUTHORITY_HOST names. A PROBE_CLOUD that
 * contradicts a national cloud's authority host is refused: the federated audience and Graph host
 * would belong to one cloud and the tokens to another.
 */
function readCloud(env: Record<string, string>, problems: Problem[]): CloudName | undefined {
  const { named, byHost } = cloudsOfSettings(env.PROBE_CLOUD, env.PROBE_AUTHORITY_HOST ?? DEFAULT_AUTHORITY_HOST);
  if (named && byHost && named !== byHost) {
    problems.push({
      setting: "PROBE_CLOUD",
      problem: `is ${named} but PROBE_AUTHORITY_HOST is the ${byHost} cloud's authority; set one of them to match the other`,
    });
  }
  return named ?? byHost;
}
