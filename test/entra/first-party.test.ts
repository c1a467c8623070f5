import { describe, expect, it } from "vitest";
import { firstPartyResourceOf } from "../../src/entra/first-party.js";

describe("firstPartyResourceOf: a scope or audience of one of Microsoft's own resources, in every cloud", () => {
  it.each([
    ["https://graph.microsoft.com/.default", "Microsoft Graph"],
    ["https://graph.microsoft.us/.default", "Microsoft Graph"],
    ["https://microsoftgraph.chinacloudapi.cn/.default", "Microsoft Graph"],
    ["https://management.azure.com/.default", "Azure Resource Manager"],
    ["https://management.azure.com//.default", "Azure Resource Manager"],
    ["https://management.usgovcloudapi.net/.default", "Azure Resource Manager"],
    ["https://vault.azure.net/.default", "Azure Key Vault"],
    ["https://vault.usgovcloudapi.net/.default", "Azure Key Vault"],
    ["https://vault.azure.cn/.default", "Azure Key Vault"],
    ["https://storage.azure.com/.default", "Azure Storage"],
    ["https://contosodata.blob.core.windows.net/.default", "Azure Storage"],
    ["https://contosodata.queue.core.usgovcloudapi.net", "Azure Storage"],
    ["https://contosodata.dfs.core.chinacloudapi.cn/", "Azure Storage"],
    ["https://cognitiveservices.azure.com/.default", "Azure AI services (Cognitive Services)"],
    ["https://cognitiveservices.azure.us/.default", "Azure AI services (Cognitive Services)"],
    ["https://cognitiveservices.azure.cn/.default", "Azure AI services (Cognitive Services)"],
    ["797f4846-ba00-4fd7-ba43-dac1f8f63013", "Azure Resource Manager"],
  ])("%s is %s", (scope, name) => {
    expect(firstPartyResourceOf(scope)?.name).toBe(name);
  });

  it.each([
    "api://orders-api/.default",
    "https://contoso.azure-api.net/.default",
    "https://contoso.onmicrosoft.com/orders/.default",
    // A look-alike host is not the service.
    "https://blob.core.windows.net.contoso.com/.default",
  ])("%s is the API's own", (scope) => {
    expect(firstPartyResourceOf(scope)).toBeUndefined();
  });
});
