import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  expectationsFromPolicy,
  expectationsFromSettings,
  preflightAgainstPolicy,
  type Expectations,
  type FolderPromises,
  type PreflightOutcome,
} from "../diagnosis/index.js";
import { isProductError, SettingsError } from "../errors.js";
import type { PreflightCache } from "./preflight-cache.js";
import { namedValueMap, readApiopsFolder, scopesFor, type ApiopsFolder } from "../../apiops/folder.js";
import {
  composeEffectivePolicy,
  parsePolicy,
  type ApimPolicy,
  type EvaluateDeps,
  type SigningKeyResolver,
  type ValidateJwtPolicy,
} from "../../policy/index.js";
import type { ProbeConfig, TargetConfig } from "../settings/types.js";

/**
 * The policy of each target that names one: its policy file, or its API's effective policy in the
 * APIOps folder (PROBE_APIOPS_DIR). A policy without token checks is legitimate: the API is open.
 */
export type TargetPolicies = ReadonlyMap<string, TargetPolicy>;

/** A target's policy, and for a target read from an APIOps folder what the folder promises of it. */
export type TargetPolicy = ApimPolicy & { folderPromises?: FolderPromises };

/**
 * Reads and parses every target's `policyFile` once, at engine creation, so a broken file is a
 * start-up error naming the target rather than a silent lack of preflight on every run.
 */
export function loadTargetPolicies(
  targets: readonly TargetConfig[],
  readTextFile: (path: string) => string = (path) => readFileSync(path, "utf8"),
): TargetPolicies {
  const policies = new Map<string, TargetPolicy>();
  const problems: { setting: string; problem: string }[] = [];
  for (const target of targets) {
    if (target.apiops !== undefined) {
      try {
        policies.set(target.name, effectivePolicyOf(target.apiops, target.url));
      } catch (error) {
        problems.push({
          setting: target.apiops.setting,
          problem: error instanceof Error ? error.message : "cannot be read",
        });
      }
      continue;
    }
    if (target.policyFile === undefined) continue;
    const setting = target.policyFileSetting ?? `target "${target.name}" policyFile`;
    let xml: string;
    try {
      xml = readTextFile(target.policyFile);
    } catch {
      problems.push({ setting, problem: `cannot read ${target.policyFile}` });
      continue;
    }
    try {
      policies.set(target.name, parsePolicy(xml));
    } catch (error) {
      // PolicyError messages name the element at fault, never a value of the request (safeMessage).
      problems.push({
        setting,
        problem: isProductError(error) && error.safeMessage ? error.message : "is not a readable APIM policy",
      });
    }
  }
  if (problems.length > 0) throw new SettingsError(problems);
  return policies;
}

/** Issuers read at run time from the documents themselves (undefined where a fetch failed). */
export interface FetchedIssuers {
  /** The tenant's own v1 and v2 discovery documents' `issuer`. */
  tenant?: readonly string[];
  /** A target's policy's openid-config documents' `issuer`, by target name. */
  byTarget?: ReadonlyMap<string, readonly string[]>;
}

/** What a correct token looks like for this target: its policy's rules, or what the settings imply. */
export function expectationsFor(
  target: TargetConfig,
  config: ProbeConfig,
  policy: ValidateJwtPolicy | undefined,
  fetched: FetchedIssuers = {},
): Expectations {
  const configIssuers = fetched.byTarget?.get(target.name);
  return policy
    ? expectationsFromPolicy(policy, configIssuers ? { configIssuers } : {})
    : expectationsFromSettings({
        scope: target.scope,
        tenantId: config.tenantId,
        ...(config.cloud ? { cloud: config.cloud } : {}),
        ...(fetched.tenant ? { tenantIssuers: fetched.tenant } : {}),
      });
}

/**
 * The tenant's issuers from its own v1 and v2 discovery documents on the configured authority
 * (docs/REFERENCE.md §7: the authoritative issuer is the document's), through the resolver, which caches them
 * as APIM does. Undefined when either cannot be fetched: the cloud table stands in.
 */
export async function tenantIssuers(config: ProbeConfig, resolver: SigningKeyResolver): Promise<string[] | undefined> {
  const base = `${config.authorityHost}/${config.tenantId}`;
  try {
    const docs = await Promise.all([
      resolver.resolve(`${base}/.well-known/openid-configuration`),
      resolver.resolve(`${base}/v2.0/.well-known/openid-configuration`),
    ]);
    return [...new Set(docs.map((d) => d.issuer))];
  } catch {
    return undefined;
  }
}

/** The issuers of a policy's openid-config documents (undefined when one cannot be fetched). */
export async function policyConfigIssuers(
  policy: ValidateJwtPolicy,
  resolver: SigningKeyResolver,
): Promise<string[] | undefined> {
  if (policy.issuers !== undefined || policy.openIdConfigUrls.length === 0) return undefined;
  try {
    return (await Promise.all(policy.openIdConfigUrls.map((url) => resolver.resolve(url)))).map((d) => d.issuer);
  } catch {
    return undefined;
  }
}

/** The checks a target with a policy adds to a run: the preflight and the tenant's published kids. */
export interface PolicyChecks {
  /** The shared evaluator on the acquired token; undefined when it cannot say (never throws). */
  preflight(token: string): Promise<PreflightOutcome | undefined>;
  /** `kid`s the policy's openid-config documents publish (refetched once if `kid` is unknown). */
  publishedKids(kid: string | undefined): Promise<string[] | undefined>;
  /**
   * The preflight with the audience rules set aside: whether signature, issuer, lifetime, required
   * claims and the caller rule would pass. Undefined when it cannot say.
   */
  preflightWithoutAudience(token: string): Promise<PreflightOutcome | undefined>;
}

/**
 * Policy checks over the engine's resolver: its dispatcher trusts NODE_EXTRA_CA_CERTS and fetches
 * the openid-config URLs as the policy writes them (the sandbox's policy file names its own tenant).
 */
export function policyChecks(
  policy: ApimPolicy,
  deps: { keys: SigningKeyResolver; now: () => number; cache?: PreflightCache },
): PolicyChecks {
  const evaluateDeps: EvaluateDeps = { keys: deps.keys, now: deps.now };
  // Everything but the audience rule: a required role the wrong-audience token lacks refuses it
  // whatever its aud, so such a refusal proves nothing about the audience rule and must say so.
  const audienceFree: ApimPolicy = {
    ...policy,
    tokenChecks: policy.tokenChecks.map(({ audiences: _a, ...check }) => check),
  };
  const openIdConfigUrls = [...new Set(policy.tokenChecks.flatMap((c) => c.openIdConfigUrls))];
  /** The verdict on `judged` (shared through the cache when there is one); never throws. */
  const verdict = async (token: string, judged: ApimPolicy, kind: string): Promise<PreflightOutcome | undefined> => {
    try {
      const judge = () => preflightAgainstPolicy(token, judged, evaluateDeps);
      return await (deps.cache ? deps.cache.verdict(token, policy, kind, judge) : judge());
    } catch {
      // The preflight only explains; a metadata outage must not turn into a probe failure.
      return undefined;
    }
  };
  return {
    preflightWithoutAudience: (token) => verdict(token, audienceFree, "without-audience"),
    preflight: (token) => verdict(token, policy, "full"),
    async publishedKids(kid) {
      if (openIdConfigUrls.length === 0) return undefined;
      const kids: string[] = [];
      for (const url of openIdConfigUrls) {
        try {
          const config = await deps.keys.resolve(url, kid === undefined ? {} : { kid });
          for (const key of config.keys) if (typeof key.kid === "string") kids.push(key.kid);
        } catch {
          // Without the document the kid cannot be judged: no evidence rather than a wrong one.
          return undefined;
        }
      }
      return kids;
    },
  };
}

const folders = new Map<string, ApiopsFolder>();

/** A target's API in the APIOps folder, its effective policy (global, product, API, operation, fragments). */
function effectivePolicyOf(apiops: NonNullable<TargetConfig["apiops"]>, url: string): TargetPolicy {
  let folder = folders.get(apiops.dir);
  if (!folder) {
    folder = readApiopsFolder(apiops.dir);
    folders.set(apiops.dir, folder);
  }
  const api = apiops.api !== undefined ? folder.apis.find((a) => a.name === apiops.api) : apiForUrl(folder, url);
  if (!api) {
    throw new Error(
      apiops.api !== undefined
        ? `names API "${apiops.api}", which is not in the APIOps folder`
        : "the target's URL path matches no API path in the APIOps folder (name it with apiopsApi)",
    );
  }
  const { scopes } = scopesFor(folder, api, {
    ...(apiops.operation ? { operation: apiops.operation } : {}),
    ...(apiops.product ? { product: apiops.product } : {}),
  });
  const policy = composeEffectivePolicy(scopes, folder.fragments, { namedValues: namedValueMap(folder) });
  const validating = policy.tokenChecks.find((c) => c.conditions.length === 0);
  const folderPromises: FolderPromises = {
    subscriptionRequired: api.subscriptionRequired,
    ...(api.subscriptionKeyParameterNames?.header
      ? { subscriptionKeyHeader: api.subscriptionKeyParameterNames.header }
      : {}),
    ...(api.informationFile ? { subscriptionArtifact: join(folder.root, api.informationFile) } : {}),
    ...(validating?.source
      ? {
          validationArtifact: `${join(folder.root, validating.source.file)}${validating.line > 0 ? `:${validating.line}` : ""}`,
        }
      : {}),
  };
  return { ...policy, folderPromises };
}

/** The API whose URL suffix (`path`) is the longest leading part of the target URL's path, by segments. */
function apiForUrl(folder: ApiopsFolder, url: string): ApiopsFolder["apis"][number] | undefined {
  const segments = new URL(url).pathname.split("/").filter(Boolean);
  let best: { api: ApiopsFolder["apis"][number]; length: number } | undefined;
  for (const api of folder.apis) {
    const path = api.path.split("/").filter(Boolean);
    if (path.length > segments.length || !path.every((p, i) => p.toLowerCase() === segments[i]!.toLowerCase()))
      continue;
    if (!best || path.length > best.length) best = { api, length: path.length };
  }
  return best?.api;
}
