/**
 * Microsoft's own resources a client-credentials token can be asked for. A scope naming one of them
 * gets a token for that resource, not for an API behind APIM: its audience is the resource's, and
 * Microsoft Graph's tokens carry a header `nonce` that makes their signature verify nowhere but at
 * Graph. Resource ids as Microsoft publishes them per service (App ID URIs and first-party app ids);
 * national-cloud hosts where they differ.
 */
export interface FirstPartyResource {
  name: string;
  /** Hosts of the resource's App ID URI (`https://{host}` or `https://{host}/`). */
  hosts: readonly string[];
  /** Host suffixes of per-account audiences (`https://{account}.blob.core.windows.net`). */
  hostSuffixes?: readonly string[];
  /** Its application (client) id, which a v2 token carries as `aud` (where we know it). */
  appId?: string;
}

export const FIRST_PARTY_RESOURCES: readonly FirstPartyResource[] = [
  {
    name: "Microsoft Graph",
    hosts: ["graph.microsoft.com", "graph.microsoft.us", "dod-graph.microsoft.us", "microsoftgraph.chinacloudapi.cn"],
    appId: "00000003-0000-0000-c000-000000000000",
  },
  { name: "Azure AD Graph (retired)", hosts: ["graph.windows.net"], appId: "00000002-0000-0000-c000-000000000000" },
  {
    name: "Azure Resource Manager",
    hosts: [
      "management.azure.com",
      "management.core.windows.net",
      "management.usgovcloudapi.net",
      "management.core.usgovcloudapi.net",
      "management.chinacloudapi.cn",
      "management.core.chinacloudapi.cn",
    ],
    appId: "797f4846-ba00-4fd7-ba43-dac1f8f63013",
  },
  {
    name: "Azure Key Vault",
    hosts: ["vault.azure.net", "vault.usgovcloudapi.net", "vault.azure.cn"],
    appId: "cfa8b339-82a2-471a-a3c9-0fc0be7a4093",
  },
  {
    name: "Azure Storage",
    hosts: ["storage.azure.com"],
    // A token for one account's service only (the Azure SDKs' "service account audience"), in each cloud.
    hostSuffixes: ["blob", "queue", "table", "file", "dfs"].flatMap((service) =>
      ["core.windows.net", "core.usgovcloudapi.net", "core.chinacloudapi.cn"].map((suffix) => `.${service}.${suffix}`),
    ),
    appId: "e406a681-f3d4-42a8-90b6-c2b029497af1",
  },
  {
    name: "Azure AI services (Cognitive Services)",
    // Public, Azure Government and Azure operated by 21Vianet (the Azure SDKs' cloud audiences).
    hosts: ["cognitiveservices.azure.com", "ai.azure.com", "cognitiveservices.azure.us", "cognitiveservices.azure.cn"],
    appId: "7d312290-28c8-473c-a0ed-8e53749b6d6d",
  },
  {
    name: "Azure SQL Database",
    hosts: ["database.windows.net", "database.usgovcloudapi.net", "database.chinacloudapi.cn"],
    appId: "022907d3-0f1b-48f7-badc-1ba6abab6d66",
  },
  { name: "Azure Service Bus", hosts: ["servicebus.azure.net"] },
  { name: "Azure Event Hubs", hosts: ["eventhubs.azure.net"] },
  { name: "Azure Monitor", hosts: ["monitor.azure.com", "api.loganalytics.io"] },
];

/**
 * The first-party resource a scope (`https://graph.microsoft.com/.default`) or an audience
 * (`https://graph.microsoft.com`, `00000003-0000-0000-c000-000000000000`) names, or undefined.
 */
export function firstPartyResourceOf(scopeOrAudience: string): FirstPartyResource | undefined {
  const resource = scopeOrAudience.trim().replace(/\/\.default$/i, "");
  const lower = resource.toLowerCase();
  const byAppId = FIRST_PARTY_RESOURCES.find((r) => r.appId === lower);
  if (byAppId) return byAppId;
  let url: URL;
  try {
    url = new URL(resource);
  } catch {
    return undefined;
  }
  if (url.protocol !== "https:" || (url.pathname !== "/" && url.pathname !== "")) return undefined;
  const host = url.hostname.toLowerCase();
  return FIRST_PARTY_RESOURCES.find(
    (r) => r.hosts.includes(host) || (r.hostSuffixes ?? []).some((suffix) => host.endsWith(suffix)),
  );
}
