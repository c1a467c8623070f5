import type { TokenCredential } from "@azure/identity";
// A namespace import: a named import of getCACertificates (Node.js 22.15) would fail to link on an
// older Node.js, before the app could say which version it needs.
import * as tls from "node:tls";

/**
 * The app's managed identity (@azure/identity), trusting the same CAs as every other leg of the
 * probe (token endpoint, API, ingestion, Graph): Node's roots plus the extra CAs of the settings.
 * @azure/identity has its own HTTP pipeline, which reads NODE_EXTRA_CA_CERTS only when it was set
 * before the process started; given in a settings file, it must be handed over, or this one leg
 * alone would refuse a private CA (or the sandbox's) that the others accept.
 */
export async function managedIdentityCredential(options: {
  clientId?: string;
  extraCaPem?: readonly string[];
}): Promise<TokenCredential> {
  const { ManagedIdentityCredential } = await import("@azure/identity");
  const extra = options.extraCaPem ?? [];
  // `ca` replaces the default roots for these requests: keep them, add the extra ones.
  const trust = extra.length > 0 ? { tlsOptions: { ca: [...tls.getCACertificates("default"), ...extra] } } : {};
  return options.clientId
    ? new ManagedIdentityCredential({ clientId: options.clientId, ...trust })
    : new ManagedIdentityCredential(trust);
}
