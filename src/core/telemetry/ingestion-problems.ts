/**
 * Why ingestion did not take a batch, said so that an on-call engineer can act on it: the ingestion
 * host, the HTTP status or the transport error, and the fix. Every lost or kept result carries one.
 */
export interface IngestionProblem {
  /** `ingestion at eastus-8.in.applicationinsights.azure.com answered 401` */
  reason: string;
  fix?: string;
}

const AUTH_FIX =
  "Application Insights refused the sender: when the resource has local authentication disabled, set APPLICATIONINSIGHTS_AUTHENTICATION_STRING " +
  "(Authorization=AAD, with ClientId=<client id> for a user-assigned identity) and give that identity the Monitoring Metrics Publisher role on the " +
  "Application Insights resource (https://learn.microsoft.com/azure/azure-monitor/app/azure-ad-authentication); a role assigned minutes ago may not apply yet";

const TLS_CODES = new Set([
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "CERT_UNTRUSTED",
  "CERT_REJECTED",
  "ERR_TLS_CERT_ALTNAME_INVALID",
]);
const DNS_CODES = new Set(["ENOTFOUND", "EAI_AGAIN", "EAI_NONAME"]);
const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EPIPE",
  "ECONNABORTED",
  "UND_ERR_SOCKET",
]);

/** What ingestion's HTTP status (after the exporter's in-memory retries) means, and what to do. */
export function statusProblem(host: string, status: number): IngestionProblem {
  const reason = `ingestion at ${host} answered ${status}`;
  if (status === 401 || status === 403) return { reason, fix: AUTH_FIX };
  if (status === 400) {
    return {
      reason,
      fix: "ingestion refused the whole batch: check InstrumentationKey and IngestionEndpoint in APPLICATIONINSIGHTS_CONNECTION_STRING (copy the connection string from the Application Insights resource's Overview)",
    };
  }
  if (status === 404)
    return {
      reason,
      fix: "the endpoint has no /v2.1/track: check IngestionEndpoint in APPLICATIONINSIGHTS_CONNECTION_STRING",
    };
  if (status === 429 || status === 439) {
    return {
      reason,
      fix: "ingestion throttled the resource or its daily cap was reached: check the Application Insights resource's daily cap (Usage and estimated costs)",
    };
  }
  if (status === 408 || status >= 500)
    return { reason, fix: "ingestion failed on its side; results kept in the state are sent again by the next run" };
  return { reason };
}

/** What a failure to get an answer at all means: TLS trust, DNS, the network path, or a time limit. */
export function transportProblem(host: string, code: string): IngestionProblem {
  const reason = `not sent to ingestion at ${host}: ${code}`;
  if (TLS_CODES.has(code) || code.startsWith("ERR_TLS") || code.startsWith("ERR_SSL")) {
    return {
      reason,
      fix: `the certificate ${host} presented is not trusted: behind a TLS-inspecting proxy or a private CA, add that CA to NODE_EXTRA_CA_CERTS (a PEM file)`,
    };
  }
  if (DNS_CODES.has(code)) {
    return {
      reason,
      fix: `${host} does not resolve: check IngestionEndpoint in APPLICATIONINSIGHTS_CONNECTION_STRING, and the DNS zone when ingestion goes through a private link (Azure Monitor Private Link Scope)`,
    };
  }
  if (NETWORK_CODES.has(code))
    return {
      reason,
      fix: `check outbound HTTPS from this host to ${host} (firewall, network security group, proxy, private endpoint) and that it is the IngestionEndpoint of APPLICATIONINSIGHTS_CONNECTION_STRING`,
    };
  return { reason };
}

/** No verdict within the delivery's time: the results are kept (when there is a state) and sent again. */
export function noAnswerProblem(host: string, waitedMs: number): IngestionProblem {
  return {
    reason: `no answer from ingestion at ${host} within ${waitedMs} ms`,
    fix: `check that ${host} is reachable from this host and answers (a proxy that holds requests)`,
  };
}

/**
 * The host of the connection string's IngestionEndpoint; without one, the endpoint the exporter
 * uses by default (https://learn.microsoft.com/azure/azure-monitor/app/connection-strings, "Default").
 */
export function ingestionHost(connectionString: string): string {
  for (const part of connectionString.split(";")) {
    const at = part.indexOf("=");
    if (at > 0 && part.slice(0, at).trim().toLowerCase() === "ingestionendpoint") {
      try {
        return new URL(part.slice(at + 1).trim()).host;
      } catch {
        return part.slice(at + 1).trim();
      }
    }
  }
  return "dc.services.visualstudio.com";
}
