/**
 * Entra ID's national clouds: the facts a client-credentials caller needs per cloud. Hosts and v2
 * issuers from MSAL's authority metadata (msal-common `AuthorityMetadata.ts`); federated-credential
 * audiences from Microsoft's workload identity federation page; Graph hosts from Graph's national
 * cloud deployments page. The v1 issuer hosts are confirmed only by Microsoft Q&A answers.
 *
 * A tenant's own discovery document is the authority on its issuer; this table is what the offline
 * tools (`diagnose`, `policy check`) and a failed discovery fall back to. Never the public cloud alone.
 */
export const CLOUD_NAMES = ["public", "usgov", "china"] as const;
export type CloudName = (typeof CLOUD_NAMES)[number];

export interface EntraCloud {
  name: CloudName;
  displayName: string;
  /** Host of the authority (token endpoint, discovery), without scheme. */
  authorityHost: string;
  /** Other hosts that serve the same authority. */
  authorityAliases: readonly string[];
  /** Host in v2 issuers: `https://{host}/{tid}/v2.0`. */
  v2IssuerHost: string;
  /** Host in v1 issuers: `https://{host}/{tid}/`. */
  v1IssuerHost: string;
  /** Audience of a managed identity's token used as a federated client assertion. */
  federatedAudience: string;
  /** Microsoft Graph's host in this cloud. */
  graphHost: string;
}

export const CLOUDS: Readonly<Record<CloudName, EntraCloud>> = {
  public: {
    name: "public",
    displayName: "Azure public cloud",
    authorityHost: "login.microsoftonline.com",
    authorityAliases: ["login.windows.net", "login.microsoft.com", "sts.windows.net"],
    v2IssuerHost: "login.microsoftonline.com",
    v1IssuerHost: "sts.windows.net",
    federatedAudience: "api://AzureADTokenExchange",
    graphHost: "graph.microsoft.com",
  },
  usgov: {
    name: "usgov",
    displayName: "Azure US Government",
    authorityHost: "login.microsoftonline.us",
    authorityAliases: ["login.usgovcloudapi.net"],
    v2IssuerHost: "login.microsoftonline.us",
    v1IssuerHost: "sts.windows.net",
    federatedAudience: "api://AzureADTokenExchangeUSGov",
    graphHost: "graph.microsoft.us",
  },
  china: {
    name: "china",
    displayName: "Azure operated by 21Vianet (China)",
    authorityHost: "login.partner.microsoftonline.cn",
    authorityAliases: ["login.chinacloudapi.cn"],
    v2IssuerHost: "login.partner.microsoftonline.cn",
    v1IssuerHost: "sts.chinacloudapi.cn",
    federatedAudience: "api://AzureADTokenExchangeChina",
    graphHost: "microsoftgraph.chinacloudapi.cn",
  },
};

export function isCloudName(value: string): value is CloudName {
  return (CLOUD_NAMES as readonly string[]).includes(value);
}

/** The cloud whose authority (or an alias of it) is `host`; undefined for any other host. */
export function cloudForAuthorityHost(host: string): EntraCloud | undefined {
  const h = host.toLowerCase();
  return Object.values(CLOUDS).find((c) => c.authorityHost === h || c.authorityAliases.includes(h));
}

/**
 * The cloud an issuer's host belongs to. `sts.windows.net` is the v1 issuer host of both the public
 * and the US Government cloud: it answers the public cloud, the first that uses it.
 */
export function cloudForIssuerHost(host: string): EntraCloud | undefined {
  const h = host.toLowerCase();
  return Object.values(CLOUDS).find((c) => c.v2IssuerHost === h || c.v1IssuerHost === h) ?? cloudForAuthorityHost(h);
}

/**
 * The cloud the settings name (`PROBE_CLOUD`, when it is a cloud name) and the one the authority's
 * host belongs to (default authority: the public cloud's). Either may be undefined; when both are
 * set and differ, the settings contradict each other.
 */
export function cloudsOfSettings(
  cloudSetting: string | undefined,
  authorityHost: string | undefined,
): { named?: CloudName; byHost?: CloudName } {
  const named = cloudSetting !== undefined && isCloudName(cloudSetting) ? cloudSetting : undefined;
  let byHost: CloudName | undefined;
  try {
    byHost = cloudForAuthorityHost(new URL(authorityHost ?? `https://${CLOUDS.public.authorityHost}`).hostname)?.name;
  } catch {
    byHost = undefined; // not a URL: the settings check says so
  }
  return { ...(named ? { named } : {}), ...(byHost ? { byHost } : {}) };
}
