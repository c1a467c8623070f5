/** The emulated Entra tenant: public surface for the sandbox (src/sandbox/index.ts) and tests. */
export { startEntraEmulator } from "./server.js";
export type { EntraEmulator, EntraEmulatorOptions, TokenRequestRecord } from "./server.js";
export { parseTenantModel, createDefaultTenant } from "./model.js";
export type {
  AppRegistration,
  AppRole,
  ClientSecret,
  DefaultTenant,
  FederatedCredential,
  ManagedIdentity,
  RoleAssignment,
  TenantModel,
  TenantModelInput,
} from "./model.js";
export type { ClientCertificate, GeneratedSecret } from "./default-tenant.js";
export { v1Issuer, v2Issuer } from "./issuers.js";
