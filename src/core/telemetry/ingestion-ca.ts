/**
 * The CA to hand the exporter for an ingestion endpoint. The exporter's `ca` replaces the public
 * roots for its requests, so extra CAs (the sandbox's, from NODE_EXTRA_CA_CERTS) are used only for a
 * loopback endpoint: real App Insights ingestion keeps the platform's roots.
 */
export function ingestionTrustedCa(connectionString: string, extraCaPem: readonly string[]): string | undefined {
  if (extraCaPem.length === 0) return undefined;
  const endpoint = /IngestionEndpoint=([^;]+)/i.exec(connectionString)?.[1];
  if (!endpoint) return undefined;
  let host: string;
  try {
    host = new URL(endpoint).hostname;
  } catch {
    return undefined;
  }
  return host === "127.0.0.1" || host === "localhost" || host === "[::1]" ? extraCaPem.join("\n") : undefined;
}
