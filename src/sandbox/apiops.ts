import { cp, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { namedValueMap, readApiopsFolder, scopesFor } from "../apiops/folder.js";
import { composeEffectivePolicy } from "../policy/index.js";
import type { ApiDefinition } from "./apim/types.js";
import { openIdConfigOnEmulator } from "./entra-hosts.js";

/**
 * Publishes an APIOps folder on the sandbox gateway: every HTTP API (current revision) at
 * its path, with its effective policy (global, product, API, fragments) and named values, so a
 * user tries their real repository offline. The named values that name Entra identities are set to
 * the sandbox's (its tenant issues the tokens); the caller gives the values of secret and Key Vault
 * named values (the folder does not hold them), and one without a value that a policy uses stops the
 * start, naming it.
 *
 * It also writes the copy the probe reads as PROBE_APIOPS_DIR: the same folder with its Entra
 * metadata URLs pointing at the emulated tenant, as the sandbox's policy file does for
 * PROBE_POLICY_FILE.
 */
export async function publishApiopsFolder(
  dir: string,
  options: {
    subscriptionKey: string;
    /** What the gateway substitutes, besides the folder's own. */
    namedValues: Readonly<Record<string, string>>;
    /** The sandbox's Entra identities, also written into the probe's copy (never a value the caller gave). */
    identityNamedValues: Readonly<Record<string, string>>;
    entraOrigin: string;
    copyTo: string;
  },
): Promise<{ apis: ApiDefinition[]; probeFolder: string }> {
  const folder = readApiopsFolder(dir);
  const namedValues = { ...namedValueMap(folder), ...options.namedValues };
  const apis = folder.apis
    .filter((api) => api.apiType === "http")
    .map((api): ApiDefinition => ({
      name: api.name,
      path: `/${api.path.replace(/^\/+/, "")}`,
      subscriptionRequired: api.subscriptionRequired,
      subscriptionKeys: [options.subscriptionKey],
      ...(api.subscriptionKeyParameterNames?.header
        ? { subscriptionKeyHeaderName: api.subscriptionKeyParameterNames.header }
        : {}),
      ...(api.subscriptionKeyParameterNames?.query
        ? { subscriptionKeyQueryParamName: api.subscriptionKeyParameterNames.query }
        : {}),
      policy: composeEffectivePolicy(scopesFor(folder, api).scopes, folder.fragments, {
        namedValues,
        requireNamedValues: true,
      }),
    }));
  await cp(dir, options.copyTo, { recursive: true });
  await rewriteForProbe(options.copyTo, { namedValues: options.identityNamedValues, entraOrigin: options.entraOrigin });
  return { apis, probeFolder: options.copyTo };
}

/** In the probe's copy: Entra metadata on the emulated tenant, and the sandbox's identities as named values. */
async function rewriteForProbe(
  dir: string,
  options: { namedValues: Readonly<Record<string, string>>; entraOrigin: string },
): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    if (entry.name.endsWith(".xml")) {
      const xml = await readFile(path, "utf8");
      const rewritten = openIdConfigOnEmulator(xml, options.entraOrigin).replace(
        /<validate-azure-ad-token\b([^>]*?)(\s+authentication-endpoint="[^"]*")?([^>]*)>/g,
        (_m, before: string, _endpoint: string | undefined, after: string) =>
          `<validate-azure-ad-token${before} authentication-endpoint="${options.entraOrigin}"${after}>`,
      );
      if (rewritten !== xml) await writeFile(path, rewritten);
    } else if (entry.name === "namedValueInformation.json") {
      const doc = JSON.parse(await readFile(path, "utf8")) as { properties?: { displayName?: string; value?: string } };
      const name = doc.properties?.displayName;
      if (name !== undefined && Object.hasOwn(options.namedValues, name) && doc.properties) {
        doc.properties.value = options.namedValues[name]!;
        await writeFile(path, `${JSON.stringify(doc, null, 2)}\n`);
      }
    }
  }
}
