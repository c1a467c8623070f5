import { dirname, resolve } from "node:path";
import type { z } from "zod";
import { readApiopsFolder } from "../../apiops/folder.js";
import { targetsFromFolder } from "../../apiops/targets.js";
import { PROBE_NAMES, type ProbeName } from "../../probe-matrix/names.js";
import { DEFAULT_METHOD, DEFAULT_TARGET_NAME, defaultExpectedStatuses } from "./defaults.js";
import { Secret } from "./secret.js";
import { jsonSyntaxReason } from "./settings-file.js";
import { keyValueProblem, unresolvedValueProblem } from "./setting-values.js";
import {
  findSecretLikeValues,
  jsonNestingDepth,
  MAX_TARGETS_FILE_CHARS,
  MAX_TARGETS_FILE_DEPTH,
  targetsFileSchema,
  type TargetsFile,
} from "./targets-file.js";
import type { TargetConfig } from "./types.js";

type Problem = { setting: string; problem: string };

/**
 * The targets the settings describe: one from PROBE_API_URL, those of PROBE_TARGETS_FILE, or one per
 * API of PROBE_APIOPS_DIR at PROBE_GATEWAY_URL; what is wrong goes to `problems`.
 */
export function readTargets(
  env: Record<string, string>,
  cwd: string,
  readTextFile: (path: string) => string,
  problems: Problem[],
): TargetConfig[] {
  const file = env.PROBE_TARGETS_FILE;
  if (!file && !env.PROBE_API_URL && env.PROBE_APIOPS_DIR && env.PROBE_GATEWAY_URL)
    return estateTargets(env, cwd, problems);
  if (env.PROBE_GATEWAY_URL && (file || env.PROBE_API_URL || !env.PROBE_APIOPS_DIR)) {
    problems.push({
      setting: "PROBE_GATEWAY_URL",
      problem: "is used only with PROBE_APIOPS_DIR, instead of PROBE_API_URL and PROBE_TARGETS_FILE",
    });
  }
  if (!file) {
    for (const setting of ["PROBE_API_URL", "PROBE_API_SCOPE"]) {
      if (!env[setting])
        problems.push({
          setting,
          problem: "is required (or set PROBE_TARGETS_FILE, or PROBE_APIOPS_DIR with PROBE_GATEWAY_URL)",
        });
    }
    if (!env.PROBE_API_URL || !env.PROBE_API_SCOPE) return [];
    return [
      {
        name: DEFAULT_TARGET_NAME,
        url: env.PROBE_API_URL,
        method: (env.PROBE_API_METHOD ?? DEFAULT_METHOD).toUpperCase(),
        scope: env.PROBE_API_SCOPE,
        ...(env.PROBE_SUBSCRIPTION_KEY
          ? {
              subscriptionKeySetting: "PROBE_SUBSCRIPTION_KEY",
              subscriptionKey: new Secret(env.PROBE_SUBSCRIPTION_KEY),
            }
          : {}),
        ...(env.PROBE_SUBSCRIPTION_KEY_HEADER ? { subscriptionKeyHeader: env.PROBE_SUBSCRIPTION_KEY_HEADER } : {}),
        ...(env.PROBE_POLICY_FILE
          ? { policyFile: resolve(cwd, env.PROBE_POLICY_FILE), policyFileSetting: "PROBE_POLICY_FILE" }
          : {}),
        ...(env.PROBE_APIOPS_DIR && !env.PROBE_POLICY_FILE
          ? { apiops: { dir: resolve(cwd, env.PROBE_APIOPS_DIR), setting: "PROBE_APIOPS_DIR" } }
          : {}),
        expectedStatuses: defaultExpectedStatuses(),
        probes: PROBE_NAMES,
      },
    ];
  }

  for (const setting of [
    "PROBE_API_URL",
    "PROBE_API_METHOD",
    "PROBE_API_SCOPE",
    "PROBE_SUBSCRIPTION_KEY",
    "PROBE_SUBSCRIPTION_KEY_HEADER",
    "PROBE_POLICY_FILE",
  ]) {
    if (env[setting])
      problems.push({ setting, problem: "cannot be combined with PROBE_TARGETS_FILE: put the target in the file" });
  }
  const path = resolve(cwd, file);
  let raw: unknown;
  try {
    const text = readTextFile(path);
    if (text.length > MAX_TARGETS_FILE_CHARS) {
      problems.push({
        setting: "PROBE_TARGETS_FILE",
        problem: `file is ${text.length} characters long, more than the ${MAX_TARGETS_FILE_CHARS} allowed`,
      });
      return [];
    }
    if (jsonNestingDepth(text, MAX_TARGETS_FILE_DEPTH) > MAX_TARGETS_FILE_DEPTH) {
      problems.push({
        setting: "PROBE_TARGETS_FILE",
        problem: `file nests arrays or objects more than ${MAX_TARGETS_FILE_DEPTH} levels deep`,
      });
      return [];
    }
    raw = JSON.parse(text);
  } catch (error) {
    problems.push({
      setting: "PROBE_TARGETS_FILE",
      problem:
        error instanceof SyntaxError ? `file is not valid JSON${jsonSyntaxReason(error)}` : "file cannot be read",
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
    problems.push({
      setting: "PROBE_APIOPS_DIR",
      problem: `no API of the folder can be probed: ${estate.notes[0] ?? "it has no HTTP API"}`,
    });
    return [];
  }
  const key = env.PROBE_SUBSCRIPTION_KEY;
  return estate.targets.map((t) => {
    const expectedStatuses = defaultExpectedStatuses();
    for (const [probe, statuses] of Object.entries(t.expectedStatuses ?? {}))
      expectedStatuses[probe as ProbeName] = statuses;
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
      if (
        t.subscriptionKeySetting !== "PROBE_SUBSCRIPTION_KEY" &&
        !problems.some((p) => p.setting === t.subscriptionKeySetting)
      ) {
        problems.push({
          setting: t.subscriptionKeySetting,
          problem: `${problem} (target "${t.name}" takes its subscription key from it)`,
        });
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
    ...(t.policyFile
      ? {
          policyFile: resolve(baseDir, t.policyFile),
          policyFileSetting: `PROBE_TARGETS_FILE target "${t.name}" policyFile`,
        }
      : {}),
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
  return (
    path.map((p, i) => (typeof p === "number" ? `[${p}]` : `${i === 0 ? "" : "."}${String(p)}`)).join("") || "(root)"
  );
}

/** zod's own messages for structural issues do not quote input values; keep them, name unknown keys. */
function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === "unrecognized_keys") return `unknown property ${issue.keys.map((k) => `"${k}"`).join(", ")}`;
  if (issue.code === "invalid_type") return `must be ${issue.expected}`;
  // A record key (a header name): its own rule says what is wrong, not "Invalid key in record".
  if (issue.code === "invalid_key" && issue.issues[0]) return describeIssue(issue.issues[0]);
  return issue.message;
}
