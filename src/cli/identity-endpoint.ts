/**
 * Where a managed identity is found (the variables MSAL's managed-identity sources read: App Service
 * and Functions, Service Fabric, Azure Arc, Cloud Shell, IMDS). The host sets them in the process's
 * environment, and @azure/identity reads them only there, at each token request.
 */
const IDENTITY_ENDPOINT_SETTINGS = [
  "IDENTITY_ENDPOINT",
  "IDENTITY_HEADER",
  "IDENTITY_SERVER_THUMBPRINT",
  "IMDS_ENDPOINT",
  "MSI_ENDPOINT",
  "MSI_SECRET",
] as const;

/**
 * Lends the managed identity's endpoint from `settings` (a settings file, the sandbox's) to the
 * process's environment where it has none, as the Functions host would have set it; returns the undo.
 * Without it, a settings file's IDENTITY_ENDPOINT reaches every leg of the probe but the two that use
 * the managed identity (PROBE_CREDENTIAL=managed-identity, Entra-authenticated ingestion).
 * The process's own values win: it is where the host put them.
 */
export function lendIdentityEndpoint(settings: Readonly<Record<string, string | undefined>>): () => void {
  const lent = IDENTITY_ENDPOINT_SETTINGS.filter((k) => settings[k] !== undefined && process.env[k] === undefined);
  for (const k of lent) process.env[k] = settings[k];
  return () => {
    for (const k of lent) delete process.env[k];
  };
}
