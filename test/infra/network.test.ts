import { describe, expect, it } from "vitest";
import { REQUIRED_PARAMETERS, evaluateValue, evaluationContext, functionApp, loadTemplate, type ArmResource } from "./template-model.js";

/**
 * The private-networking option of infra/main.json (vnetMode), checked against Microsoft's Flex
 * Consumption networking documentation and the ARM reference of each resource type:
 * - https://learn.microsoft.com/azure/azure-functions/flex-consumption-plan#virtual-network-integration
 *   (integration subnet delegated to Microsoft.App/environments, `virtualNetworkSubnetId` on the site)
 * - https://learn.microsoft.com/azure/private-link/private-endpoint-dns (privatelink zone names)
 * - https://learn.microsoft.com/azure/templates/microsoft.network/virtualnetworks,
 *   .../privateendpoints, .../privateendpoints/privatednszonegroups, .../privatednszones,
 *   .../privatednszones/virtualnetworklinks, .../microsoft.storage/storageaccounts
 */

const template = loadTemplate();

interface Evaluated {
  type: string;
  name: string;
  deployed: boolean;
  properties: Record<string, unknown>;
  raw: ArmResource;
}

function deploy(overrides: Record<string, unknown>): Evaluated[] {
  const ctx = evaluationContext(template, { ...REQUIRED_PARAMETERS, ...overrides });
  return template.resources.map((raw) => ({
    type: raw.type,
    name: evaluateValue(raw.name, ctx) as string,
    deployed: raw.condition === undefined ? true : evaluateValue(raw.condition, ctx) === true,
    properties: (evaluateValue(raw.properties ?? {}, ctx) ?? {}) as Record<string, unknown>,
    raw,
  }));
}

const deployed = (resources: Evaluated[], type: string): Evaluated[] => resources.filter((r) => r.deployed && r.type === type);
const one = (resources: Evaluated[], type: string, name: string): Evaluated => {
  const found = resources.filter((r) => r.type === type && r.name === name);
  expect(found, `${type} ${name}`).toHaveLength(1);
  return found[0]!;
};

const NETWORK_TYPES = [
  "Microsoft.Network/virtualNetworks",
  "Microsoft.Network/privateEndpoints",
  "Microsoft.Network/privateEndpoints/privateDnsZoneGroups",
  "Microsoft.Network/privateDnsZones",
  "Microsoft.Network/privateDnsZones/virtualNetworkLinks",
];

/**
 * The properties each network resource may carry and the API version it is written against, from
 * the ARM template reference and Microsoft's published schemas for those versions
 * (https://github.com/Azure/azure-resource-manager-schemas: schemas/2024-05-01/Microsoft.Network.NRP.json,
 * schemas/2020-06-01/Microsoft.Network.privateDns.json): a misspelt or misplaced property fails here
 * before a deployment would.
 */
const ARM_REFERENCE: Record<string, { apiVersion: string; properties: string[] }> = {
  "Microsoft.Network/virtualNetworks": { apiVersion: "2024-05-01", properties: ["addressSpace", "subnets"] },
  "Microsoft.Network/privateEndpoints": { apiVersion: "2024-05-01", properties: ["subnet", "privateLinkServiceConnections"] },
  "Microsoft.Network/privateEndpoints/privateDnsZoneGroups": { apiVersion: "2024-05-01", properties: ["privateDnsZoneConfigs"] },
  "Microsoft.Network/privateDnsZones": { apiVersion: "2020-06-01", properties: [] },
  "Microsoft.Network/privateDnsZones/virtualNetworkLinks": { apiVersion: "2020-06-01", properties: ["registrationEnabled", "virtualNetwork"] },
};

const STORAGE_ID = "/resourceId/Microsoft.Storage/storageAccounts/stuniq";
const NEW_VNET_ID = "/resourceId/Microsoft.Network/virtualNetworks/apimsmoke-vnet-westeurope";
const EXISTING_VNET_ID = "/subscriptions/sub/resourceGroups/rg-hub/providers/Microsoft.Network/virtualNetworks/spoke";

describe("infra/main.json: private networking (vnetMode)", () => {
  it("offers none (the default), a new virtual network, or an existing one", () => {
    expect(template.parameters.vnetMode).toMatchObject({ type: "string", defaultValue: "none", allowedValues: ["none", "new", "existing"] });
    for (const name of ["existingVnetResourceId", "existingAppSubnetName", "existingPrivateEndpointSubnetName", "vnetAddressPrefix", "appSubnetPrefix", "privateEndpointSubnetPrefix"]) {
      expect(template.parameters[name]?.type, name).toBe("string");
    }
    expect(template.parameters.createPrivateDnsZones).toMatchObject({ type: "bool", defaultValue: true });
    expect(template.parameters.disablePublicNetworkAccess).toMatchObject({ type: "bool", defaultValue: true });
  });

  it("writes every network resource against its ARM reference: API version and property names", () => {
    const network = template.resources.filter((r) => r.type.startsWith("Microsoft.Network/"));
    expect(new Set(network.map((r) => r.type))).toEqual(new Set(NETWORK_TYPES));
    for (const r of network) {
      const reference = ARM_REFERENCE[r.type]!;
      expect(r.apiVersion, r.type).toBe(reference.apiVersion);
      for (const key of Object.keys(r.properties ?? {})) expect(reference.properties, `${r.type}: ${key}`).toContain(key);
      // Private DNS zones and their links are global resources.
      if (r.type.startsWith("Microsoft.Network/privateDnsZones")) expect(r.location, r.type).toBe("global");
    }
  });

  it("writes the nested objects with the schemas' property names, and only the new properties the storage and site schemas define", () => {
    const resources = deploy({ vnetMode: "new", keyVaultName: "kv-probe" });
    const keys = (o: unknown): string[] => Object.keys(o as object);
    const vnet = deployed(resources, "Microsoft.Network/virtualNetworks")[0]!;
    for (const subnet of vnet.properties.subnets as { name: string; properties: Record<string, unknown> }[]) {
      expect(keys(subnet)).toEqual(["name", "properties"]);
      // SubnetPropertiesFormat, Delegation / ServiceDelegationPropertiesFormat
      for (const key of keys(subnet.properties)) expect(["addressPrefix", "delegations", "privateEndpointNetworkPolicies"]).toContain(key);
      for (const d of (subnet.properties.delegations ?? []) as { properties: object }[]) expect(keys(d.properties)).toEqual(["serviceName"]);
    }
    for (const pe of deployed(resources, "Microsoft.Network/privateEndpoints")) {
      // PrivateLinkServiceConnection / PrivateLinkServiceConnectionProperties
      for (const c of pe.properties.privateLinkServiceConnections as { properties: object }[]) {
        expect(keys(c).sort()).toEqual(["name", "properties"]);
        expect(keys(c.properties).sort()).toEqual(["groupIds", "privateLinkServiceId"]);
      }
    }
    for (const group of deployed(resources, "Microsoft.Network/privateEndpoints/privateDnsZoneGroups")) {
      // PrivateDnsZoneConfig / PrivateDnsZonePropertiesFormat
      for (const c of group.properties.privateDnsZoneConfigs as { properties: object }[]) expect(keys(c.properties)).toEqual(["privateDnsZoneId"]);
    }
    // Microsoft.Storage 2023-05-01: publicNetworkAccess Enabled|Disabled|SecuredByPerimeter; NetworkRuleSet bypass, defaultAction.
    const storage = template.resources.find((r) => r.type === "Microsoft.Storage/storageAccounts")!;
    expect(storage.apiVersion).toBe("2023-05-01");
    // Microsoft.Web 2024-04-01: SiteProperties.virtualNetworkSubnetId (Regional VNet Integration).
    expect(functionApp(template).apiVersion).toBe("2024-04-01");
    expect(Object.keys(functionApp(template).properties!)).toContain("virtualNetworkSubnetId");
  });

  it("with vnetMode=none, deploys no network resource and leaves the app and storage public as before", () => {
    const resources = deploy({ keyVaultName: "kv-probe" });
    expect(resources.filter((r) => r.deployed && r.type.startsWith("Microsoft.Network/")).map((r) => r.name)).toEqual([]);
    const site = resources.find((r) => r.type === "Microsoft.Web/sites")!;
    expect(site.properties.virtualNetworkSubnetId).toBeNull();
    const storage = deployed(resources, "Microsoft.Storage/storageAccounts")[0]!;
    expect(storage.properties.publicNetworkAccess).toBe("Enabled");
    expect(storage.properties.networkAcls).toEqual({ defaultAction: "Allow", bypass: "AzureServices" });
  });

  describe("with vnetMode=new", () => {
    const resources = deploy({ vnetMode: "new", keyVaultName: "kv-probe" });

    it("creates a virtual network with an integration subnet delegated to Microsoft.App/environments and a private-endpoint subnet", () => {
      const vnet = one(resources, "Microsoft.Network/virtualNetworks", "apimsmoke-vnet-westeurope");
      expect(vnet.deployed).toBe(true);
      expect(vnet.properties.addressSpace).toEqual({ addressPrefixes: ["10.60.0.0/16"] });
      const subnets = vnet.properties.subnets as { name: string; properties: Record<string, unknown> }[];
      expect(subnets.map((s) => s.name)).toEqual(["app", "private-endpoints"]);
      expect(subnets[0]!.properties).toEqual({
        addressPrefix: "10.60.0.0/24",
        delegations: [{ name: "flex-consumption", properties: { serviceName: "Microsoft.App/environments" } }],
      });
      expect(subnets[1]!.properties).toEqual({ addressPrefix: "10.60.1.0/24", privateEndpointNetworkPolicies: "Disabled" });
    });

    it("joins the app to the integration subnet (virtualNetworkSubnetId), so its outbound traffic and DNS go through the virtual network", () => {
      const site = resources.find((r) => r.type === "Microsoft.Web/sites")!;
      expect(site.properties.virtualNetworkSubnetId).toBe(`${NEW_VNET_ID}/subnets/app`);
      expect(functionApp(template).dependsOn).toContain("[resourceId('Microsoft.Network/virtualNetworks', variables('vnetName'))]");
    });

    it("gives the storage account blob, queue and table private endpoints in the private-endpoint subnet, and turns its public access off", () => {
      const endpoints = deployed(resources, "Microsoft.Network/privateEndpoints");
      for (const service of ["blob", "queue", "table"]) {
        const pe = one(resources, "Microsoft.Network/privateEndpoints", `apimsmoke-${service}-pe-westeurope`);
        expect(pe.deployed, service).toBe(true);
        expect(pe.properties.subnet).toEqual({ id: `${NEW_VNET_ID}/subnets/private-endpoints` });
        expect(pe.properties.privateLinkServiceConnections).toEqual([{ name: service, properties: { privateLinkServiceId: STORAGE_ID, groupIds: [service] } }]);
      }
      expect(endpoints).toHaveLength(4);
      const storage = deployed(resources, "Microsoft.Storage/storageAccounts")[0]!;
      expect(storage.properties.publicNetworkAccess).toBe("Disabled");
      expect(storage.properties.networkAcls).toEqual({ defaultAction: "Deny", bypass: "None" });
    });

    it("gives the Key Vault it grants access to a private endpoint (group vault)", () => {
      const pe = one(resources, "Microsoft.Network/privateEndpoints", "apimsmoke-vault-pe-westeurope");
      expect(pe.deployed).toBe(true);
      expect(pe.properties.privateLinkServiceConnections).toEqual([
        { name: "vault", properties: { privateLinkServiceId: "/resourceId/Microsoft.KeyVault/vaults/kv-probe", groupIds: ["vault"] } },
      ]);
    });

    it("creates each privatelink zone, links it to the virtual network without auto-registration, and points the endpoint's zone group at it", () => {
      const zones: Record<string, string> = {
        blob: "privatelink.blob.core.windows.net",
        queue: "privatelink.queue.core.windows.net",
        table: "privatelink.table.core.windows.net",
        vault: "privatelink.vaultcore.azure.net",
      };
      expect(deployed(resources, "Microsoft.Network/privateDnsZones").map((z) => z.name).sort()).toEqual(Object.values(zones).sort());
      for (const [service, zone] of Object.entries(zones)) {
        const link = one(resources, "Microsoft.Network/privateDnsZones/virtualNetworkLinks", `${zone}/apimsmoke-westeurope`);
        expect(link.deployed, zone).toBe(true);
        expect(link.properties).toEqual({ registrationEnabled: false, virtualNetwork: { id: NEW_VNET_ID } });
        const group = one(resources, "Microsoft.Network/privateEndpoints/privateDnsZoneGroups", `apimsmoke-${service}-pe-westeurope/default`);
        expect(group.deployed, service).toBe(true);
        expect(group.properties).toEqual({
          privateDnsZoneConfigs: [{ name: service, properties: { privateDnsZoneId: `/resourceId/Microsoft.Network/privateDnsZones/${zone}` } }],
        });
      }
    });

    it("starts the app only once storage resolves to its private endpoints", () => {
      for (const service of ["blob", "queue", "table"]) {
        expect(functionApp(template).dependsOn).toContain(
          `[resourceId('Microsoft.Network/privateEndpoints/privateDnsZoneGroups', format('{0}-${service}-pe-{1}', parameters('namePrefix'), parameters('location')), 'default')]`,
        );
      }
    });
  });

  it("with vnetMode=existing, creates no virtual network and uses the named subnets of the given one", () => {
    const resources = deploy({
      vnetMode: "existing",
      existingVnetResourceId: EXISTING_VNET_ID,
      existingAppSubnetName: "snet-probe",
      existingPrivateEndpointSubnetName: "snet-pe",
    });
    expect(deployed(resources, "Microsoft.Network/virtualNetworks")).toEqual([]);
    const site = resources.find((r) => r.type === "Microsoft.Web/sites")!;
    expect(site.properties.virtualNetworkSubnetId).toBe(`${EXISTING_VNET_ID}/subnets/snet-probe`);
    for (const pe of deployed(resources, "Microsoft.Network/privateEndpoints")) expect(pe.properties.subnet).toEqual({ id: `${EXISTING_VNET_ID}/subnets/snet-pe` });
    for (const link of deployed(resources, "Microsoft.Network/privateDnsZones/virtualNetworkLinks")) {
      expect((link.properties.virtualNetwork as { id: string }).id).toBe(EXISTING_VNET_ID);
    }
    // No Key Vault named: no endpoint for one.
    expect(deployed(resources, "Microsoft.Network/privateEndpoints").map((r) => r.name).sort()).toEqual(["apimsmoke-blob-pe-westeurope", "apimsmoke-queue-pe-westeurope", "apimsmoke-table-pe-westeurope"]);
  });

  it("leaves the zones to the hub with createPrivateDnsZones=false, and public access on with disablePublicNetworkAccess=false", () => {
    const resources = deploy({ vnetMode: "new", createPrivateDnsZones: false, disablePublicNetworkAccess: false, keyVaultName: "kv-probe" });
    expect(deployed(resources, "Microsoft.Network/privateEndpoints")).toHaveLength(4);
    for (const type of ["Microsoft.Network/privateDnsZones", "Microsoft.Network/privateDnsZones/virtualNetworkLinks", "Microsoft.Network/privateEndpoints/privateDnsZoneGroups"]) {
      expect(deployed(resources, type), type).toEqual([]);
    }
    expect(deployed(resources, "Microsoft.Storage/storageAccounts")[0]!.properties.publicNetworkAccess).toBe("Enabled");
  });

  it("makes no Key Vault endpoint when the template does not grant access to the vault", () => {
    const resources = deploy({ vnetMode: "new", keyVaultName: "kv-elsewhere", grantKeyVaultAccess: false });
    expect(deployed(resources, "Microsoft.Network/privateEndpoints").map((r) => r.name)).not.toContain("apimsmoke-vault-pe-westeurope");
    expect(deployed(resources, "Microsoft.Network/privateDnsZones").map((r) => r.name)).not.toContain("privatelink.vaultcore.azure.net");
  });
});
