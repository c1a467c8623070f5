/**
 * The fixed identities of the sandbox's default tenant. Fixed (not random) so that a user's
 * settings, policy files and dashboards built against the sandbox keep working from run to run.
 * Secrets are not here: the sandbox generates them at start and hands them out only through
 * `Sandbox.settings`.
 */
export const SANDBOX_TENANT_ID = "7d3c2f4e-1a6b-4c59-9e2d-5b8f0a1c3e47";

/** The protected API's app registration (the resource). */
export const ORDERS_API = {
  displayName: "orders-api",
  clientId: "3f9a2c71-5d84-4b0e-a6c3-8e1f7b2d9045",
  appIdUri: "api://orders-api",
  role: "Api.Access",
  roleId: "b7e4c1a9-2f36-4d85-9c0e-6a3b5d8f1e27",
} as const;

/** The probe's own client app: has a secret, a certificate, a federated credential, and the role. */
export const PROBE_CLIENT = {
  displayName: "smoke-probe",
  clientId: "c2a8e5f1-7b39-4d06-8e4a-1f5c9b3d7a62",
  objectId: "e91b4d27-6c05-4a83-b1f8-3d7e2a5c9046",
  /**
   * The app role the probe's own registration defines with the API's role value and grants to
   * itself (the README's one-time setup), so its own-app token differs from the valid one in aud only.
   */
  ownRoleId: "5e0b9d3a-8c41-4f27-a6e2-9d1c7b4f3a58",
} as const;

/** A client app in the same tenant that was never granted the API's role. */
export const UNASSIGNED_CLIENT = {
  displayName: "stranger",
  clientId: "a5d1f8c3-9e27-4b64-8a0d-2c6e4f1b7d93",
  objectId: "f03c6a8e-4d1b-4f97-a25e-8b7d1c3e5f60",
} as const;

/** A user-assigned managed identity federated with PROBE_CLIENT. */
export const PROBE_MANAGED_IDENTITY = {
  clientId: "d84f2b6a-1c93-4e57-b0a8-5e3d7f9c1b26",
  principalId: "9b6e3d1f-8a24-4c70-9f5b-2d1a6c8e4f73",
} as const;

/** Microsoft Graph as a resource, for the wrong-audience probe. */
export const GRAPH = {
  displayName: "Microsoft Graph",
  clientId: "00000003-0000-0000-c000-000000000000",
  appIdUri: "https://graph.microsoft.com",
} as const;

/**
 * Azure Monitor as a resource: the audience of Entra-authenticated ingestion (the exporter asks for
 * `https://monitor.azure.com/.default`). The client id is the sandbox's stand-in, not Azure's.
 */
export const AZURE_MONITOR = {
  displayName: "Azure Monitor (sandbox stand-in)",
  clientId: "5c4e8f1a-7b2d-4e93-a06c-1d9f3b7e2a58",
  appIdUri: "https://monitor.azure.com",
} as const;

/** The audience of managed-identity tokens used as federated client assertions. */
export const TOKEN_EXCHANGE_AUDIENCE = "api://AzureADTokenExchange";

/** APIM: the default API's path and the operation the probe calls. */
export const ORDERS_API_PATH = "/orders";
export const ORDERS_OPERATION_PATH = "/orders/health";
