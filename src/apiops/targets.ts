import { join, relative } from "node:path";
import { composeEffectivePolicy, type ApimPolicy } from "../policy/index.js";
import { SUCCESS_STATUSES } from "../probe-matrix/statuses.js";
import { namedValueMap, readProperties, scopesFor, type ApiopsApi, type ApiopsFolder } from "./folder.js";
import { probeOperation, readSpecification } from "./specification.js";

/** A targets-file entry (schema/targets.schema.json), as `targets --apiops` writes it. */
export interface EstateTarget {
  name: string;
  url: string;
  method: "GET";
  /** Absent when neither the effective policy nor `--scope` gives the API's audience: token probes then skip. */
  scope?: string;
  subscriptionKeySetting: string;
  apiopsApi: string;
  /** APIM's names for the key on this API, when the folder renames them (`subscriptionKeyParameterNames`). */
  subscriptionKeyHeader?: string;
  subscriptionKeyQuery?: string;
  expectedStatuses?: Record<string, number[]>;
}

export interface EstateTargetsOptions {
  /** `https://<service>.azure-api.net`: gateway host names are not in the artifacts. */
  gateway: string;
  /** The scope when the effective policy's audiences do not give one. */
  scope?: string;
  subscriptionKeySetting: string;
  product?: string;
  /** Per API (by name): the operation path to probe instead of the specification's first GET. */
  operations?: Readonly<Record<string, string>>;
}

/**
 * One target per HTTP API of the folder (current revision; a versioned API at its versioned path),
 * URL = gateway + API path + the probe operation, expected statuses from what the folder says
 * (subscription required or not; token validation or none), the scope from the effective
 * policy's audiences where it can be derived. What cannot be determined is a note, one line each,
 * never guessed silently.
 */
export function targetsFromFolder(
  folder: ApiopsFolder,
  options: EstateTargetsOptions,
): { targets: EstateTarget[]; notes: string[] } {
  const targets: EstateTarget[] = [];
  const notes: string[] = [];
  const namedValues = namedValueMap(folder);
  for (const api of folder.apis) {
    if (api.apiType !== "http") {
      notes.push(`api ${api.name}: a ${api.apiType} API; only HTTP APIs are probed`);
      continue;
    }
    const spec = readSpecification(join(folder.root, api.folder), folder.root);
    const override = options.operations?.[api.name];
    const operation = override ?? probeOperation(spec)?.path;
    if (operation === undefined) {
      notes.push(
        spec.operations
          ? `api ${api.name}: no GET operation without path parameters in ${relative(folder.root, spec.file)}; name one with --operation ${api.name}=/path`
          : `api ${api.name}: ${spec.kind === "none" ? "no OpenAPI specification" : `a ${spec.kind.toUpperCase()} specification`}; name the operation with --operation ${api.name}=/path`,
      );
      continue;
    }
    let policy: ApimPolicy;
    try {
      policy = composeEffectivePolicy(
        scopesFor(folder, api, options.product ? { product: options.product } : {}).scopes,
        folder.fragments,
        { namedValues },
      );
    } catch (error) {
      notes.push(
        `api ${api.name}: its effective policy cannot be read (${error instanceof Error ? error.message : "error"})`,
      );
      continue;
    }
    const scope = scopeFrom(policy) ?? options.scope;
    if (scope === undefined) {
      // Only the named values that stand for an audience kept the scope hidden; others (a backend
      // key in a set-header) have nothing to do with it.
      const hidden = [
        ...new Set(
          policy.tokenChecks
            .flatMap((c) => c.unresolvedInputs)
            .filter((u) => u.input === "audiences" && u.kind === "named value")
            .flatMap((u) => [...u.written.matchAll(/\{\{([^{}]+)\}\}/g)].map((m) => m[1]!.trim())),
        ),
      ];
      const secret = hidden.length > 0 ? ` (its audiences are named values without a value: ${hidden.join(", ")})` : "";
      // The key probes and a key-only valid still prove something; the token probes say what they lack.
      notes.push(
        `api ${api.name}: no audience in its effective policy to derive the scope from${secret}; its token probes will be skipped until --scope (or PROBE_API_SCOPE) gives one`,
      );
    }
    const versioned = versionedPath(folder, api);
    if (versioned.note) notes.push(`api ${api.name}: ${versioned.note}`);
    const expected: Record<string, number[]> = {};
    // The folder says the API takes calls without a key; the token check (when there is one) still stands.
    if (!api.subscriptionRequired) expected["no-subscription-key"] = [...SUCCESS_STATUSES];
    if (!validatesTokens(policy)) {
      // Never an expected 2xx for a bad caller: an API open by design is accepted explicitly, per
      // API and with a reason (`acceptOpen` in the targets file), never by a generated default.
      notes.push(
        `api ${api.name}: its effective policy validates no token; the token probes expect a refusal and report security until it does. If the API is open by design, add "acceptOpen": "<why>" to its target (see apim-smoke coverage)`,
      );
    }
    const keyNames = api.subscriptionKeyParameterNames;
    targets.push({
      name: api.name,
      url: `${options.gateway.replace(/\/+$/, "")}/${[api.path, versioned.segment].filter(Boolean).join("/").replace(/^\/+/, "")}${operation.startsWith("/") ? operation : `/${operation}`}${versioned.query ?? ""}`,
      method: "GET",
      ...(scope !== undefined ? { scope } : {}),
      subscriptionKeySetting: options.subscriptionKeySetting,
      apiopsApi: api.name,
      ...(keyNames?.header ? { subscriptionKeyHeader: keyNames.header } : {}),
      ...(keyNames?.query ? { subscriptionKeyQuery: keyNames.query } : {}),
      ...(Object.keys(expected).length > 0 ? { expectedStatuses: expected } : {}),
    });
  }
  return { targets, notes };
}

/** Token validation that applies to every request (not only on some <choose> branch). */
export function validatesTokens(policy: ApimPolicy): boolean {
  return policy.tokenChecks.some((c) => c.conditions.length === 0);
}

/**
 * The client-credentials scope from the audiences the policy accepts: the App ID URI (what people
 * request) before the client ID; `.default` either way.
 */
function scopeFrom(policy: ApimPolicy): string | undefined {
  const audiences = policy.tokenChecks.flatMap((c) => c.audiences ?? []).filter((a) => !a.includes("{{"));
  const uri = audiences.find((a) => /^[a-z][a-z0-9+.-]*:\/\//i.test(a));
  const chosen = uri ?? audiences[0];
  return chosen === undefined ? undefined : `${chosen.replace(/\/+$/, "")}/.default`;
}

/** A versioned API's version in its URL: a path segment, a query parameter, or (not expressible here) a header. */
function versionedPath(folder: ApiopsFolder, api: ApiopsApi): { segment?: string; query?: string; note?: string } {
  if (api.version === undefined) return {};
  const { name: version, set: setId } = api.version;
  const set =
    versionSetProperties(folder.root, join(folder.root, "version sets", setId)) ??
    versionSetProperties(folder.root, join(folder.root, "versionSets", setId));
  const scheme = typeof set?.versioningScheme === "string" ? set.versioningScheme : "Segment";
  if (scheme === "Query")
    return {
      query: `?${typeof set?.versionQueryName === "string" ? set.versionQueryName : "api-version"}=${encodeURIComponent(version)}`,
    };
  if (scheme === "Header")
    return {
      note: `version ${version} goes in header ${typeof set?.versionHeaderName === "string" ? set.versionHeaderName : "(unnamed)"}, which a targets file cannot send; the unversioned path is probed`,
    };
  // An API path that already ends in its version segment (as some folders write it) gets it once.
  if (api.path.replace(/\/+$/, "").split("/").pop() === version) return {};
  return { segment: version };
}

/** A version set's properties; an unreadable file reads as none (the segment scheme, APIM's default, then). */
function versionSetProperties(root: string, dir: string): Record<string, unknown> | undefined {
  try {
    return readProperties(join(dir, "versionSetInformation.json"), root);
  } catch {
    return undefined;
  }
}
