import type { TokenCredential } from "@azure/identity";
import { managedIdentityCredential } from "../tokens/managed-identity.js";
import { SettingsError } from "../errors.js";

const SETTING = "APPLICATIONINSIGHTS_AUTHENTICATION_STRING";

/** Entra-authenticated ingestion as configured: the system identity, or a user-assigned one by client id. */
export interface IngestionAuthentication {
  managedIdentityClientId?: string;
  /** Extra CAs (NODE_EXTRA_CA_CERTS of the settings) the managed identity's endpoint is trusted with, as every other leg. */
  extraCaPem?: readonly string[];
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Reads the documented App Insights setting (docs/REFERENCE.md §7): `Authorization=AAD` and, for a
 * user-assigned identity, `;ClientId=<id>`. `applicationinsights` 3 honours it only in its
 * auto-attach agent, not for a TelemetryClient, so the reporter reads it here and hands the
 * exporter a credential. Undefined when the setting is empty: local authentication (the key alone).
 */
export function ingestionAuthenticationFrom(value: string | undefined): IngestionAuthentication | undefined {
  if (value === undefined || value.trim() === "") return undefined;
  const fields = new Map<string, string>();
  for (const part of value.split(";")) {
    const at = part.indexOf("=");
    if (at > 0) fields.set(part.slice(0, at).trim().toLowerCase(), part.slice(at + 1).trim());
  }
  if (fields.get("authorization")?.toUpperCase() !== "AAD") {
    throw new SettingsError([
      {
        setting: SETTING,
        problem: "must start with Authorization=AAD (optionally ;ClientId=<user-assigned identity's client id>)",
      },
    ]);
  }
  const clientId = fields.get("clientid");
  if (clientId !== undefined && !GUID.test(clientId)) {
    throw new SettingsError([
      {
        setting: SETTING,
        problem: "ClientId must be the client id (a GUID) of the app's user-assigned managed identity",
      },
    ]);
  }
  return clientId ? { managedIdentityClientId: clientId } : {};
}

/** The app's managed identity, for Azure Monitor's audience (the exporter asks for the scope itself). */
export async function ingestionCredential(auth: IngestionAuthentication): Promise<TokenCredential> {
  return managedIdentityCredential({
    ...(auth.managedIdentityClientId ? { clientId: auth.managedIdentityClientId } : {}),
    extraCaPem: auth.extraCaPem ?? [],
  });
}
