import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { ProbeError } from "../errors/probe-error.js";
import type { PolicyFragment, ScopedPolicy } from "../policy/index.js";

/**
 * An APIOps repository folder, as the extractor writes it (`apis/`, `named values/`, `policy
 * fragments/`, `products/<p>/apis/<api>/productApiInformation.json`) or as the newer apiops-cli
 * writes it (`namedValues/`, `policyFragments/`, `products/<p>/apis.json`) (docs/REFERENCE.md §7). Only what
 * the probe needs: scopes' policies, subscription requirements, paths, named values and fragments.
 * Gateway host names and subscription keys are not in the artifacts.
 */
export interface ApiopsFolder {
  root: string;
  globalPolicy?: ScopedPolicy;
  apis: ApiopsApi[];
  products: ApiopsProduct[];
  namedValues: ApiopsNamedValue[];
  fragments: Record<string, PolicyFragment>;
}

export interface ApiopsApi {
  /** The API's resource name (its folder, without `;rev=N`). */
  name: string;
  displayName: string;
  /** URL suffix on the gateway. */
  path: string;
  /** Default true, as in APIM. */
  subscriptionRequired: boolean;
  /** The API's own names for the key (`subscriptionKeyParameterNames`), when it renames APIM's defaults. */
  subscriptionKeyParameterNames?: { header?: string; query?: string };
  apiType: string;
  /** The folder read (the current revision's). */
  folder: string;
  /** `apiRevision` of the revision read. */
  revision?: string;
  /** A versioned API's `apiVersion`, and its version set's name (the last part of `apiVersionSetId`). */
  version?: { name: string; set: string };
  policy?: ScopedPolicy;
  operations: { name: string; policy?: ScopedPolicy }[];
  /** The file that says whether a subscription is required, for drift findings. */
  informationFile?: string;
}

export interface ApiopsProduct {
  name: string;
  subscriptionRequired: boolean;
  policy?: ScopedPolicy;
  /** API names in this product. */
  apis: string[];
}

export interface ApiopsNamedValue {
  name: string;
  displayName: string;
  /** Absent for secret and Key Vault named values: their values are not exported. */
  value?: string;
  secret: boolean;
  keyVault: boolean;
}

/** Reads the folder; unreadable JSON is an error naming the file. Missing parts are simply absent. */
export function readApiopsFolder(root: string): ApiopsFolder {
  if (!existsSync(root) || !statSync(root).isDirectory()) throw new ApiopsFolderError(root, "is not a folder");
  const rel = (path: string) => relative(root, path) || ".";
  const policyAt = (path: string, scope: ScopedPolicy["scope"]): ScopedPolicy | undefined =>
    existsSync(path) ? { scope, file: rel(path), xml: readInside(root, path) } : undefined;
  const globalPolicy = policyAt(join(root, "policy.xml"), "global");
  return {
    root,
    ...(globalPolicy ? { globalPolicy } : {}),
    apis: readApis(root, rel, policyAt),
    products: readProducts(root, policyAt),
    namedValues: readNamedValues(root),
    fragments: readFragments(root, rel),
  };
}

/**
 * A file of the folder, as text. A file reached through a symbolic link that leads outside the folder
 * is refused, not read: the folder is often a pull request's checkout, and its files end up in
 * messages and in what the probe sends. Every failure names the file.
 */
export function readInside(root: string, path: string): string {
  try {
    const real = realpathSync(path);
    const realRoot = realpathSync(root);
    if (real !== realRoot && !real.startsWith(realRoot + sep)) {
      throw new ApiopsFolderError(
        path,
        "is a symbolic link to a file outside the folder: refused (copy the file into the folder)",
      );
    }
    return readFileSync(real, "utf8");
  } catch (error) {
    if (error instanceof ApiopsFolderError) throw error;
    const code = (error as { code?: unknown }).code;
    throw new ApiopsFolderError(path, `cannot be read${typeof code === "string" ? ` (${code})` : ""}`, {
      cause: error,
    });
  }
}

/** A folder's file that is not what APIOps writes there. */
export class ApiopsFolderError extends ProbeError {
  readonly code = "APIM_SMOKE_APIOPS_FOLDER";
  constructor(
    readonly path: string,
    problem: string,
    options?: { cause?: unknown },
  ) {
    super(`APIOps folder ${path}: ${problem}`, options);
  }
}

/**
 * The folders in `path`, sorted. A symbolic link to a folder inside `root` counts as one; a link that
 * leads outside it is refused, naming it, rather than skipped without a word or read.
 */
function subfolders(root: string, path: string): string[] {
  if (!existsSync(path)) return [];
  const names: string[] = [];
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    if (entry.isDirectory()) names.push(entry.name);
    else if (entry.isSymbolicLink() && isFolderInside(root, join(path, entry.name))) names.push(entry.name);
  }
  return names.sort();
}

/** Whether the link `path` leads to a folder inside `root`; a folder outside it is an error naming the link. */
function isFolderInside(root: string, path: string): boolean {
  let real: string;
  try {
    real = realpathSync(path);
    if (!statSync(real).isDirectory()) return false;
  } catch (cause) {
    const code = (cause as { code?: unknown }).code;
    const why = typeof code === "string" ? ` (${code})` : "";
    throw new ApiopsFolderError(path, `is a symbolic link that cannot be followed${why}`, { cause });
  }
  const realRoot = realpathSync(root);
  if (real !== realRoot && !real.startsWith(realRoot + sep)) {
    throw new ApiopsFolderError(
      path,
      "is a symbolic link to a folder outside the folder: refused (copy the folder into it)",
    );
  }
  return true;
}

/** `{ "properties": {...} }` (the ARM shape the extractor writes) or the properties themselves. */
export function readProperties(path: string, root: string): Record<string, unknown> | undefined {
  if (!existsSync(path)) return undefined;
  let doc: unknown;
  try {
    doc = JSON.parse(readInside(root, path));
  } catch (cause) {
    if (cause instanceof ApiopsFolderError) throw cause;
    throw new ApiopsFolderError(path, "is not valid JSON", { cause });
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc))
    throw new ApiopsFolderError(path, "is not a JSON object");
  const record = doc as Record<string, unknown>;
  const props = record.properties;
  return typeof props === "object" && props !== null && !Array.isArray(props)
    ? (props as Record<string, unknown>)
    : record;
}

const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

function readApis(
  root: string,
  rel: (p: string) => string,
  policyAt: (p: string, s: ScopedPolicy["scope"]) => ScopedPolicy | undefined,
): ApiopsApi[] {
  const dir = join(root, "apis");
  const byName = new Map<string, { folder: string; info: Record<string, unknown> }[]>();
  for (const folder of subfolders(root, dir)) {
    const name = folder.split(";rev=")[0]!;
    const info = readProperties(join(dir, folder, "apiInformation.json"), root) ?? {};
    byName.set(name, [...(byName.get(name) ?? []), { folder, info }]);
  }
  return [...byName].map(([name, revisions]) => {
    // The current revision: the one that says isCurrent, else the folder without ";rev=".
    const current =
      revisions.find((r) => r.info.isCurrent === true) ??
      revisions.find((r) => !r.folder.includes(";rev=")) ??
      revisions[0]!;
    const folder = join(dir, current.folder);
    const info = current.info;
    const operations = [...subfolders(root, join(folder, "operations"))].map((op) => {
      const policy = policyAt(join(folder, "operations", op, "policy.xml"), "operation");
      return { name: op, ...(policy ? { policy } : {}) };
    });
    const policy = policyAt(join(folder, "policy.xml"), "api");
    const informationFile = join(folder, "apiInformation.json");
    const revision = str(info.apiRevision);
    const versionName = str(info.apiVersion);
    const versionSet = str(info.apiVersionSetId)?.split("/").pop();
    const keyNames = keyParameterNames(info.subscriptionKeyParameterNames);
    return {
      name,
      displayName: str(info.displayName) ?? name,
      path: str(info.path) ?? name,
      subscriptionRequired: info.subscriptionRequired !== false,
      ...(keyNames ? { subscriptionKeyParameterNames: keyNames } : {}),
      apiType: str(info.apiType) ?? str(info.type) ?? "http",
      folder: rel(folder),
      ...(revision ? { revision } : {}),
      ...(versionName && versionSet ? { version: { name: versionName, set: versionSet } } : {}),
      ...(policy ? { policy } : {}),
      operations,
      ...(existsSync(informationFile) ? { informationFile: rel(informationFile) } : {}),
    };
  });
}

function readProducts(
  root: string,
  policyAt: (p: string, s: ScopedPolicy["scope"]) => ScopedPolicy | undefined,
): ApiopsProduct[] {
  const dir = join(root, "products");
  return subfolders(root, dir).map((name) => {
    const info = readProperties(join(dir, name, "productInformation.json"), root) ?? {};
    const apis = new Set<string>(subfolders(root, join(dir, name, "apis")));
    // apiops-cli: products/<p>/apis.json, a list of names (or of objects with a name).
    const list = join(dir, name, "apis.json");
    if (existsSync(list)) {
      let doc: unknown;
      try {
        doc = JSON.parse(readInside(root, list));
      } catch (cause) {
        if (cause instanceof ApiopsFolderError) throw cause;
        throw new ApiopsFolderError(list, "is not valid JSON", { cause });
      }
      for (const entry of Array.isArray(doc) ? (doc as unknown[]) : []) {
        const api = typeof entry === "string" ? entry : str((entry as { name?: unknown } | null)?.name);
        if (api) apis.add(api);
      }
    }
    const policy = policyAt(join(dir, name, "policy.xml"), "product");
    return {
      name,
      subscriptionRequired: info.subscriptionRequired !== false,
      ...(policy ? { policy } : {}),
      apis: [...apis].sort(),
    };
  });
}

function readNamedValues(root: string): ApiopsNamedValue[] {
  const values: ApiopsNamedValue[] = [];
  for (const dirName of ["named values", "namedValues"]) {
    const dir = join(root, dirName);
    for (const name of subfolders(root, dir)) {
      const info = readProperties(join(dir, name, "namedValueInformation.json"), root) ?? {};
      const keyVault = typeof info.keyVault === "object" && info.keyVault !== null;
      const value = str(info.value);
      values.push({
        name,
        displayName: str(info.displayName) ?? name,
        ...(value !== undefined && !keyVault ? { value } : {}),
        secret: info.secret === true,
        keyVault,
      });
    }
  }
  return values;
}

function readFragments(root: string, rel: (p: string) => string): Record<string, PolicyFragment> {
  const fragments: Record<string, PolicyFragment> = {};
  for (const dirName of ["policy fragments", "policyFragments"]) {
    const dir = join(root, dirName);
    for (const name of subfolders(root, dir)) {
      const file = join(dir, name, "policy.xml");
      if (existsSync(file)) fragments[name] = { file: rel(file), xml: readInside(root, file) };
    }
  }
  return fragments;
}

/** Named values by the name policies use, `{{displayName}}` (and the resource name): values only. */
export function namedValueMap(folder: ApiopsFolder): Record<string, string> {
  const map: Record<string, string> = {};
  for (const nv of folder.namedValues) {
    if (nv.value === undefined) continue;
    map[nv.name] = nv.value;
    map[nv.displayName] = nv.value;
  }
  return map;
}

/**
 * The scopes of an API's operation (or of the API, with no operation), outermost first, and the
 * product assumed: which product's policy applies depends on the subscription used, so the caller
 * names one or the first product (by name) that includes the API is taken, and said.
 */
export function scopesFor(
  folder: ApiopsFolder,
  api: ApiopsApi,
  options: { operation?: string; product?: string } = {},
): { scopes: ScopedPolicy[]; product?: ApiopsProduct } {
  const candidates = folder.products.filter((p) => p.apis.includes(api.name));
  const product = options.product === undefined ? candidates[0] : candidates.find((p) => p.name === options.product);
  const operation =
    options.operation === undefined ? undefined : api.operations.find((o) => o.name === options.operation);
  const scopes = [folder.globalPolicy, product?.policy, api.policy, operation?.policy].filter(
    (s): s is ScopedPolicy => s !== undefined,
  );
  return { scopes, ...(product ? { product } : {}) };
}

/** `subscriptionKeyParameterNames` of an apiInformation.json (`{ header, query }`), when it names either. */
function keyParameterNames(value: unknown): { header?: string; query?: string } | undefined {
  if (!value || typeof value !== "object") return undefined;
  const { header, query } = value as { header?: unknown; query?: unknown };
  const names = {
    ...(typeof header === "string" && header ? { header } : {}),
    ...(typeof query === "string" && query ? { query } : {}),
  };
  return Object.keys(names).length > 0 ? names : undefined;
}
