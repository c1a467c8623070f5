import { StateKey } from "../state/state-key.js";
import { ingestionAuthenticationFrom } from "../telemetry/ingestion-auth.js";
import { X509Certificate, createPrivateKey } from "node:crypto";
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { z } from "zod";
import { readApiopsFolder } from "../../apiops/folder.js";
import { targetsFromFolder } from "../../apiops/targets.js";
import { CLOUD_NAMES, CLOUDS, cloudsOfSettings, type CloudName } from "../../entra/clouds.js";
import { SettingsError } from "../errors.js";
import { PROBE_NAMES, type ProbeName } from "../probes/names.js";
import {
  DEFAULT_AUTHORITY_HOST,
  DEFAULT_CERT_WARN_DAYS,
  DEFAULT_METHOD,
  DEFAULT_TARGET_CONCURRENCY,
  DEFAULT_TARGET_NAME,
  DEFAULT_TIMEOUT_MS,
  defaultExpectedStatuses,
  defaultWrongAudienceScope,
} from "./defaults.js";
import { clientCredentialsScope, clientId, connectionStringProblem, httpMethod, httpsUrl, httpsUrlProblem, subscriptionKeyHeaderName, tenantId } from "./rules.js";
import { Secret } from "./secret.js";
import { displayPath } from "./looks-like-secret.js";
import { parseSettingsFile } from "./settings-file.js";
import { presentNearMiss, SETTINGS_READ_ELSEWHERE, unknownSettingWarnings } from "./setting-names.js";
import { controlCharacterProblem, keyValueProblem, unresolvedValueProblem } from "./setting-values.js";
import { findSecretLikeValues, jsonNestingDepth, MAX_TARGETS_FILE_CHARS, MAX_TARGETS_FILE_DEPTH, targetsFileSchema, type TargetsFile } from "./targets-file.js";
import type { CredentialConfig, ProbeConfig, TargetConfig } from "./types.js";

type Problem = { setting: string; problem: string };
export type SettingsEnv = Readonly<Record<string, string | undefined>>;

export interface LoadSettingsOptions {
  /** Base for relative paths (targets file, certificate, CA file). Default: process.cwd(). */
  cwd?: string;
  /** Reads a text file; injectable for tests. */
  readTextFile?: (path: string) => string;
  /** CA files to trust (`readSettingsEnv`'s `extraCaFiles`); default: NODE_EXTRA_CA_CERTS of `env`. */
  extraCaFiles?: readonly string[];
}

/** Settings whose values are secrets: they are never echoed, whatever is wrong with them. */
export const SECRET_SETTINGS = [
  "PROBE_CLIENT_SECRET",
  "PROBE_UNASSIGNED_CLIENT_SECRET",
  "PROBE_SUBSCRIPTION_KEY",
  "PROBE_EXPIRED_TOKEN",
  "PROBE_STATE_KEY",
] as const;

const readUtf8 = (path: string): string => readFileSync(path, "utf8");

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
      throw new SettingsError([{ setting: "--settings-file", problem: `cannot read ${displayPath(path)}` }], { cause: error });
    }
    fromFile = parseSettingsFile(text, displayPath(path));
  }
  const values: Record<string, string> = { ...fromFile };
  for (const [k, v] of Object.entries(env)) if (v !== undefined && v !== "") values[k] = v;
  const extraCaFiles = [...new Set([fromFile.NODE_EXTRA_CA_CERTS, env.NODE_EXTRA_CA_CERTS].filter((f): f is string => Boolean(f)))];
  return { values, extraCaFiles };
}

const required = (what: string) => ({ error: (iss: { input?: unknown }) => (iss.input === undefined ? "is required" : `must be ${what}`) });

const envSchema = z.object({
  PROBE_TENANT_ID: z.string(required("text")).pipe(tenantId),
  PROBE_AUTHORITY_HOST: z
    .string()
    .default(DEFAULT_AUTHORITY_HOST)
    .superRefine((v, ctx) => {
      const problem = httpsUrlProblem(v, { allowPath: false });
      if (problem) ctx.addIssue({ code: "custom", message: problem });
    }),
  PROBE_CLIENT_ID: z.string(required("text")).pipe(clientId),
  PROBE_CLIENT_SECRET: z.string().optional(),
  PROBE_CLIENT_CERTIFICATE_PATH: z.string().optional(),
  PROBE_CREDENTIAL: z.enum(["managed-identity"], { error: 'must be "managed-identity" when set' }).optional(),
  PROBE_MANAGED_IDENTITY_CLIENT_ID: clientId.optional(),
  PROBE_API_URL: httpsUrl.optional(),
  PROBE_API_METHOD: httpMethod.optional(),
  PROBE_API_SCOPE: clientCredentialsScope.optional(),
  PROBE_SUBSCRIPTION_KEY: z.string().optional(),
  PROBE_SUBSCRIPTION_KEY_HEADER: subscriptionKeyHeaderName.optional(),
  PROBE_WRONG_AUDIENCE_SCOPE: clientCredentialsScope.optional(),
  PROBE_CLOUD: z.enum(CLOUD_NAMES, { error: `must be one of ${CLOUD_NAMES.join(", ")}` }).optional(),
  PROBE_UNASSIGNED_CLIENT_ID: clientId.optional(),
  PROBE_UNASSIGNED_CLIENT_SECRET: z.string().optional(),
  PROBE_EXPIRED_TOKEN: z
    .string()
    .regex(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/, "must be a JWT (three base64url parts)")
    .optional(),
  // 230 s is the longest an HTTP-triggered function may answer (FACTS.md section 5).
  PROBE_TIMEOUT_MS: z.coerce
    .number({ error: "must be a number of milliseconds" })
    .int("must be a whole number of milliseconds")
    .min(100, "must be at least 100 ms")
    .max(230_000, "must be at most 230000 ms")
    .default(DEFAULT_TIMEOUT_MS),
  // The whole run's budget: at most 8 minutes, what a timer invocation gets of the Functions host's 10
  // (src/functions/support/probe-runtime.ts). Unset: 8 minutes there, per wave of targets on the CLI.
  PROBE_RUN_BUDGET_MS: z.coerce
    .number({ error: "must be a number of milliseconds" })
    .int("must be a whole number of milliseconds")
    .min(1_000, "must be at least 1000 ms")
    .max(480_000, "must be at most 480000 ms (8 minutes: the Functions host stops an invocation at 10)")
    .optional(),
  PROBE_TARGET_CONCURRENCY: z.coerce
    .number({ error: "must be a number of targets" })
    .int("must be a whole number of targets")
    .min(1, "must be at least 1")
    .max(32, "must be at most 32")
    .default(DEFAULT_TARGET_CONCURRENCY),
  PROBE_RUN_LOCATION: z.string().max(2024, "must be at most 2024 characters (App Insights limit)").optional(),
  PROBE_POLICY_FILE: z.string().optional(),
  PROBE_TARGETS_FILE: z.string().optional(),
  PROBE_APIOPS_DIR: z.string().optional(),
  PROBE_GATEWAY_URL: z
    .string()
    .superRefine((v, ctx) => {
      const problem = httpsUrlProblem(v, { allowPath: false });
      if (problem) ctx.addIssue({ code: "custom", message: problem });
    })
    .optional(),
  APPLICATIONINSIGHTS_CONNECTION_STRING: z
    .string()
    .superRefine((v, ctx) => {
      const problem = connectionStringProblem(v);
      if (problem) ctx.addIssue({ code: "custom", message: problem });
    })
    .optional(),
  PROBE_CERT_WARN_DAYS: z.coerce
    .number({ error: "must be a number of days" })
    .int("must be a whole number of days")
    .min(1, "must be at least 1 day")
    .max(365, "must be at most 365 days")
    .default(DEFAULT_CERT_WARN_DAYS),
  PROBE_GRAPH_URL: z
    .string()
    .superRefine((v, ctx) => {
      const problem = httpsUrlProblem(v, { allowPath: false });
      if (problem) ctx.addIssue({ code: "custom", message: problem });
    })
    .optional(),
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: z.string().optional(),
  PROBE_STATE_KEY: z.string().optional(),
  NODE_EXTRA_CA_CERTS: z.string().optional(),
  REGION_NAME: z.string().optional(),
});

/** Every setting `loadSettings` reads: the public interface that app settings, the ARM template and README list. */
export const SETTING_NAMES: readonly string[] = Object.keys(envSchema.shape);

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
    problems.push({ setting: "PROBE_MANAGED_IDENTITY_CLIENT_ID", problem: "is only used with PROBE_CREDENTIAL=managed-identity" });
  }
  if (Boolean(clean.PROBE_UNASSIGNED_CLIENT_ID) !== Boolean(clean.PROBE_UNASSIGNED_CLIENT_SECRET)) {
    const missing = clean.PROBE_UNASSIGNED_CLIENT_ID ? "PROBE_UNASSIGNED_CLIENT_SECRET" : "PROBE_UNASSIGNED_CLIENT_ID";
    problems.push({ setting: missing, problem: "is required when the other PROBE_UNASSIGNED_CLIENT_* setting is set (both or neither)" });
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
  const stateKey = readOrProblem(problems, () => (clean.PROBE_STATE_KEY ? StateKey.fromSetting(new Secret(clean.PROBE_STATE_KEY)) : undefined));
  const ingestionAuth = readOrProblem(problems, () => ingestionAuthenticationFrom(clean.APPLICATIONINSIGHTS_AUTHENTICATION_STRING));

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
  if (problems.length > 0 || !parsed.success || !credential) {
    throw new SettingsError(problems.length > 0 ? problems : [{ setting: "settings", problem: "are invalid" }]);
  }
  const referenced = targets.flatMap((t) => (t.subscriptionKeySetting ? [t.subscriptionKeySetting] : []));
  const settingWarnings = unknownSettingWarnings(Object.keys(clean), [...KNOWN_NAMES, ...referenced]);
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
      ? { unassignedClient: { clientId: s.PROBE_UNASSIGNED_CLIENT_ID, secret: new Secret(s.PROBE_UNASSIGNED_CLIENT_SECRET) } }
      : {}),
    ...(s.PROBE_EXPIRED_TOKEN ? { expiredToken: new Secret(s.PROBE_EXPIRED_TOKEN) } : {}),
    ...(stateKey ? { stateKey } : {}),
    certWarnDays: s.PROBE_CERT_WARN_DAYS,
    // Where the probe reads its own app registration's credentials (credential-expiry): the cloud's Graph.
    graphUrl: s.PROBE_GRAPH_URL ? new URL(s.PROBE_GRAPH_URL).origin : `https://${CLOUDS[cloud ?? "public"].graphHost}`,
    ...(ingestionAuth ? { ingestionAuth: extraCaPem.length > 0 ? { ...ingestionAuth, extraCaPem } : ingestionAuth } : {}),
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
  if ((SECRET_SETTINGS as readonly string[]).includes(setting) && setting !== "PROBE_EXPIRED_TOKEN") return controlCharacterProblem(value);
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
    problems.push({ setting: "PROBE_CLOUD", problem: `is ${named} but PROBE_AUTHORITY_HOST is the ${byHost} cloud's authority; set one of them to match the other` });
  }
  return named ?? byHost;
}

function readCredential(
  env: Record<string, string>,
  cwd: string,
  readTextFile: (path: string) => string,
  problems: Problem[],
): CredentialConfig | undefined {
  const chosen = [
    env.PROBE_CLIENT_SECRET && "PROBE_CLIENT_SECRET",
    env.PROBE_CLIENT_CERTIFICATE_PATH && "PROBE_CLIENT_CERTIFICATE_PATH",
    env.PROBE_CREDENTIAL && "PROBE_CREDENTIAL",
  ].filter((x): x is string => Boolean(x));
  if (chosen.length === 0) {
    problems.push({
      setting: "PROBE_CLIENT_SECRET",
      problem: "no credential: set one of PROBE_CLIENT_SECRET, PROBE_CLIENT_CERTIFICATE_PATH or PROBE_CREDENTIAL=managed-identity",
    });
    return undefined;
  }
  if (chosen.length > 1) {
    problems.push({ setting: chosen[1]!, problem: `set only one credential (also set: ${chosen.filter((c, i) => i !== 1).join(", ")})` });
    return undefined;
  }
  if (env.PROBE_CLIENT_SECRET) return { kind: "secret", secret: new Secret(env.PROBE_CLIENT_SECRET) };
  if (env.PROBE_CREDENTIAL === "managed-identity") {
    return {
      kind: "managed-identity",
      ...(env.PROBE_MANAGED_IDENTITY_CLIENT_ID ? { managedIdentityClientId: env.PROBE_MANAGED_IDENTITY_CLIENT_ID } : {}),
    };
  }
  if (env.PROBE_CLIENT_CERTIFICATE_PATH) return readCertificate(resolve(cwd, env.PROBE_CLIENT_CERTIFICATE_PATH), readTextFile, problems);
  return undefined; // PROBE_CREDENTIAL with another value: the schema already reported it
}

const CERT_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/;
const KEY_BLOCK = /-----BEGIN (?:RSA |EC |ENCRYPTED )?PRIVATE KEY-----[\s\S]+?-----END (?:RSA |EC |ENCRYPTED )?PRIVATE KEY-----/;

function readCertificate(path: string, readTextFile: (path: string) => string, problems: Problem[]): CredentialConfig | undefined {
  const setting = "PROBE_CLIENT_CERTIFICATE_PATH";
  let pem: string;
  try {
    pem = readTextFile(path);
  } catch {
    problems.push({ setting, problem: "file cannot be read" });
    return undefined;
  }
  const certPem = CERT_BLOCK.exec(pem)?.[0];
  const keyPem = KEY_BLOCK.exec(pem)?.[0];
  if (!certPem) problems.push({ setting, problem: "file has no PEM CERTIFICATE block" });
  if (!keyPem) problems.push({ setting, problem: "file has no PEM PRIVATE KEY block (a PEM with certificate and private key is needed)" });
  if (!certPem || !keyPem) return undefined;
  try {
    const cert = new X509Certificate(certPem);
    const key = createPrivateKey(keyPem);
    if (!cert.checkPrivateKey(key)) {
      problems.push({ setting, problem: "the private key does not belong to the certificate" });
      return undefined;
    }
    return {
      kind: "certificate",
      path,
      thumbprintSha256: cert.fingerprint256.replaceAll(":", "").toLowerCase(),
      privateKey: new Secret(key.export({ type: "pkcs8", format: "pem" }).toString()),
      certificatePem: certPem,
    };
  } catch {
    problems.push({ setting, problem: "certificate or private key cannot be parsed (an encrypted key is not supported)" });
    return undefined;
  }
}

function readTargets(
  env: Record<string, string>,
  cwd: string,
  readTextFile: (path: string) => string,
  problems: Problem[],
): TargetConfig[] {
  const file = env.PROBE_TARGETS_FILE;
  if (!file && !env.PROBE_API_URL && env.PROBE_APIOPS_DIR && env.PROBE_GATEWAY_URL) return estateTargets(env, cwd, problems);
  if (env.PROBE_GATEWAY_URL && (file || env.PROBE_API_URL || !env.PROBE_APIOPS_DIR)) {
    problems.push({ setting: "PROBE_GATEWAY_URL", problem: "is used only with PROBE_APIOPS_DIR, instead of PROBE_API_URL and PROBE_TARGETS_FILE" });
  }
  if (!file) {
    for (const setting of ["PROBE_API_URL", "PROBE_API_SCOPE"]) {
      if (!env[setting]) problems.push({ setting, problem: "is required (or set PROBE_TARGETS_FILE, or PROBE_APIOPS_DIR with PROBE_GATEWAY_URL)" });
    }
    if (!env.PROBE_API_URL || !env.PROBE_API_SCOPE) return [];
    return [
      {
        name: DEFAULT_TARGET_NAME,
        url: env.PROBE_API_URL,
        method: (env.PROBE_API_METHOD ?? DEFAULT_METHOD).toUpperCase(),
        scope: env.PROBE_API_SCOPE,
        ...(env.PROBE_SUBSCRIPTION_KEY
          ? { subscriptionKeySetting: "PROBE_SUBSCRIPTION_KEY", subscriptionKey: new Secret(env.PROBE_SUBSCRIPTION_KEY) }
          : {}),
        ...(env.PROBE_SUBSCRIPTION_KEY_HEADER ? { subscriptionKeyHeader: env.PROBE_SUBSCRIPTION_KEY_HEADER } : {}),
        ...(env.PROBE_POLICY_FILE ? { policyFile: resolve(cwd, env.PROBE_POLICY_FILE), policyFileSetting: "PROBE_POLICY_FILE" } : {}),
        ...(env.PROBE_APIOPS_DIR && !env.PROBE_POLICY_FILE ? { apiops: { dir: resolve(cwd, env.PROBE_APIOPS_DIR), setting: "PROBE_APIOPS_DIR" } } : {}),
        expectedStatuses: defaultExpectedStatuses(),
        probes: PROBE_NAMES,
      },
    ];
  }

  for (const setting of ["PROBE_API_URL", "PROBE_API_METHOD", "PROBE_API_SCOPE", "PROBE_SUBSCRIPTION_KEY", "PROBE_SUBSCRIPTION_KEY_HEADER", "PROBE_POLICY_FILE"]) {
    if (env[setting]) problems.push({ setting, problem: "cannot be combined with PROBE_TARGETS_FILE: put the target in the file" });
  }
  const path = resolve(cwd, file);
  let raw: unknown;
  try {
    const text = readTextFile(path);
    if (text.length > MAX_TARGETS_FILE_CHARS) {
      problems.push({ setting: "PROBE_TARGETS_FILE", problem: `file is ${text.length} characters long, more than the ${MAX_TARGETS_FILE_CHARS} allowed` });
      return [];
    }
    if (jsonNestingDepth(text, MAX_TARGETS_FILE_DEPTH) > MAX_TARGETS_FILE_DEPTH) {
      problems.push({ setting: "PROBE_TARGETS_FILE", problem: `file nests arrays or objects more than ${MAX_TARGETS_FILE_DEPTH} levels deep` });
      return [];
    }
    raw = JSON.parse(text);
  } catch (error) {
    problems.push({
      setting: "PROBE_TARGETS_FILE",
      problem: error instanceof SyntaxError ? "file is not valid JSON" : "file cannot be read",
    });
    return [];
  }
  const secretPaths = findSecretLikeValues(raw);
  for (const p of secretPaths) {
    problems.push({
      setting: `PROBE_TARGETS_FILE ${p}`,
      problem: "looks like a secret value; the file may only name settings (e.g. subscriptionKeySetting)",
    });
  }
  if (secretPaths.length > 0) return [];
  const parsed = targetsFileSchema.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      problems.push({ setting: `PROBE_TARGETS_FILE ${formatPath(issue.path)}`, problem: describeIssue(issue) });
    }
    return [];
  }
  return parsed.data.targets.map((t, i) => toTarget(t, i, env, dirname(path), cwd, problems));
}

/**
 * The estate straight from the folder deployed with the app (PROBE_APIOPS_DIR + PROBE_GATEWAY_URL):
 * one target per API, as `apim-smoke targets --apiops` would write them, the key from
 * PROBE_SUBSCRIPTION_KEY and PROBE_API_SCOPE as the scope where the policy gives none.
 */
function estateTargets(env: Record<string, string>, cwd: string, problems: Problem[]): TargetConfig[] {
  const dir = resolve(cwd, env.PROBE_APIOPS_DIR!);
  let estate: ReturnType<typeof targetsFromFolder>;
  try {
    estate = targetsFromFolder(readApiopsFolder(dir), {
      gateway: env.PROBE_GATEWAY_URL!,
      subscriptionKeySetting: "PROBE_SUBSCRIPTION_KEY",
      ...(env.PROBE_API_SCOPE ? { scope: env.PROBE_API_SCOPE } : {}),
    });
  } catch (error) {
    problems.push({ setting: "PROBE_APIOPS_DIR", problem: error instanceof Error ? error.message : "cannot be read" });
    return [];
  }
  if (estate.targets.length === 0) {
    problems.push({ setting: "PROBE_APIOPS_DIR", problem: `no API of the folder can be probed: ${estate.notes[0] ?? "it has no HTTP API"}` });
    return [];
  }
  const key = env.PROBE_SUBSCRIPTION_KEY;
  return estate.targets.map((t) => {
    const expectedStatuses = defaultExpectedStatuses();
    for (const [probe, statuses] of Object.entries(t.expectedStatuses ?? {})) expectedStatuses[probe as ProbeName] = statuses;
    return {
      name: t.name,
      url: t.url,
      method: t.method,
      ...(t.scope !== undefined ? { scope: t.scope } : {}),
      ...(key ? { subscriptionKeySetting: "PROBE_SUBSCRIPTION_KEY", subscriptionKey: new Secret(key) } : {}),
      ...(t.subscriptionKeyHeader ? { subscriptionKeyHeader: t.subscriptionKeyHeader } : {}),
      apiops: { dir, api: t.apiopsApi, setting: `PROBE_APIOPS_DIR (api ${t.apiopsApi})` },
      expectedStatuses,
      probes: PROBE_NAMES,
    };
  });
}

function toTarget(
  t: TargetsFile["targets"][number],
  index: number,
  env: Record<string, string>,
  baseDir: string,
  cwd: string,
  problems: Problem[],
): TargetConfig {
  const expectedStatuses = defaultExpectedStatuses();
  for (const [probe, statuses] of Object.entries(t.expectedStatuses ?? {})) {
    if (statuses) expectedStatuses[probe as ProbeName] = statuses;
  }
  let subscriptionKey: Secret | undefined;
  if (t.subscriptionKeySetting) {
    const value = env[t.subscriptionKeySetting];
    const problem = value === undefined ? undefined : (unresolvedValueProblem(value) ?? keyValueProblem(value));
    if (problem) {
      // PROBE_SUBSCRIPTION_KEY was judged with the other settings already.
      if (t.subscriptionKeySetting !== "PROBE_SUBSCRIPTION_KEY" && !problems.some((p) => p.setting === t.subscriptionKeySetting)) {
        problems.push({ setting: t.subscriptionKeySetting, problem: `${problem} (target "${t.name}" takes its subscription key from it)` });
      }
    } else if (value) subscriptionKey = new Secret(value);
    else {
      problems.push({
        setting: t.subscriptionKeySetting,
        problem: `is required: target "${t.name}" (targets[${index}].subscriptionKeySetting) takes its subscription key from it`,
      });
    }
  }
  const enabled = new Set<ProbeName>(t.probes ?? PROBE_NAMES);
  return {
    name: t.name,
    url: t.url,
    method: t.method ?? DEFAULT_METHOD,
    ...(t.scope !== undefined ? { scope: t.scope } : {}),
    ...(t.subscriptionKeySetting ? { subscriptionKeySetting: t.subscriptionKeySetting } : {}),
    ...(subscriptionKey ? { subscriptionKey } : {}),
    ...(t.subscriptionKeyHeader ? { subscriptionKeyHeader: t.subscriptionKeyHeader } : {}),
    ...(t.acceptOpen ? { acceptOpen: t.acceptOpen } : {}),
    ...(t.policyFile ? { policyFile: resolve(baseDir, t.policyFile), policyFileSetting: `PROBE_TARGETS_FILE target "${t.name}" policyFile` } : {}),
    ...(env.PROBE_APIOPS_DIR && !t.policyFile
      ? {
          apiops: {
            dir: resolve(cwd, env.PROBE_APIOPS_DIR),
            ...(t.apiopsApi ? { api: t.apiopsApi } : {}),
            ...(t.apiopsOperation ? { operation: t.apiopsOperation } : {}),
            ...(t.apiopsProduct ? { product: t.apiopsProduct } : {}),
            setting: `PROBE_APIOPS_DIR (target "${t.name}")`,
          },
        }
      : {}),
    ...(t.assertions ? { assertions: stripUndefined(t.assertions) } : {}),
    ...(t.requestHeaders ? { requestHeaders: t.requestHeaders } : {}),
    ...(t.body !== undefined ? { body: t.body } : {}),
    expectedStatuses,
    probes: PROBE_NAMES.filter((p) => enabled.has(p)),
  };
}

/** zod's optional fields come back as present-but-undefined; the config type wants them absent. */
function stripUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

function formatPath(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === "number" ? `[${p}]` : `${i === 0 ? "" : "."}${String(p)}`)).join("") || "(root)";
}

/** zod's own messages for structural issues do not quote input values; keep them, name unknown keys. */
function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === "unrecognized_keys") return `unknown property ${issue.keys.map((k) => `"${k}"`).join(", ")}`;
  if (issue.code === "invalid_type") return `must be ${issue.expected}`;
  // A record key (a header name): its own rule says what is wrong, not "Invalid key in record".
  if (issue.code === "invalid_key" && issue.issues[0]) return describeIssue(issue.issues[0]);
  return issue.message;
}
