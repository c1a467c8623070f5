import { z } from "zod";
import { transportHeaderProblem } from "./setting-values.js";

/**
 * Field rules shared by the settings and the targets file. Every message is written here, by us,
 * and never quotes the value: some of these fields hold secrets and URLs may carry keys.
 */

/** Why an URL cannot be used, or undefined. Tokens and keys only ever go to https origins. */
export function httpsUrlProblem(value: string, { allowPath = true }: { allowPath?: boolean } = {}): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return "is not an absolute URL";
  }
  if (url.protocol !== "https:") return "must be an https URL (tokens and keys are never sent in clear text)";
  if (url.username || url.password) return "must not carry credentials in the URL";
  if (url.hash) return "must not have a #fragment";
  if (!allowPath && url.pathname !== "/" && url.pathname !== "") return "must be scheme and host only, without a path";
  for (const name of url.searchParams.keys()) {
    if (/^(subscription-key|code|sig|api-key|access_token|client_secret)$/i.test(name)) {
      return `must not carry a secret in its query (parameter "${name}"); use the subscription key setting`;
    }
  }
  return undefined;
}

export const httpsUrl = z.string().superRefine((value, ctx) => {
  const problem = httpsUrlProblem(value);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});

/** APIM's default subscription key header; each API may rename it (`subscriptionKeyParameterNames.header`). */
export const DEFAULT_SUBSCRIPTION_KEY_HEADER = "Ocp-Apim-Subscription-Key";

/** A header name an API takes its subscription key in: an RFC 9110 token, and not one the probe sets itself. */
export const subscriptionKeyHeaderName = z
  .string()
  .regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, "must be a header name (letters, digits and !#$%&'*+.^_`|~-)")
  .refine(
    (n) => !/^(authorization|proxy-authorization)$/i.test(n) && transportHeaderProblem(n) === undefined,
    "must not be a header the probe or HTTP itself sets (Authorization, or a hop-by-hop or framing header)",
  );

export const HTTP_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] as const;

export const httpMethod = z.preprocess(
  (v) => (typeof v === "string" ? v.toUpperCase() : v),
  z.enum(HTTP_METHODS, { error: `must be one of ${HTTP_METHODS.join(", ")}` }),
);

/**
 * Client-credentials scopes must be `<resource>/.default` (AADSTS1002012, docs/REFERENCE.md §2):
 * an app-only token carries the roles granted to the client for the whole resource.
 */
export const clientCredentialsScope = z
  .string()
  .min(1, "must not be empty")
  .refine((v) => v.endsWith("/.default") && v.length > "/.default".length, {
    message: "must be the resource followed by /.default, e.g. api://<app-id>/.default (AADSTS1002012)",
  });

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const clientId = z.string().regex(GUID, "must be an application (client) id GUID");

/** A tenant GUID or a verified domain; `common`/`organizations` are refused for client credentials. */
export const tenantId = z
  .string()
  .refine((v) => GUID.test(v) || /^[a-z0-9-]+(\.[a-z0-9-]+)+$/i.test(v), {
    message: "must be a tenant id GUID or a verified domain name",
  })
  .refine((v) => !["common", "organizations", "consumers"].includes(v.toLowerCase()), {
    message: "must name one tenant: common/organizations/consumers cannot issue client-credentials tokens",
  });

/** The setting names a targets file may reference. */
export const settingName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be the name of a setting (letters, digits, underscores), not a value");

/**
 * Why an App Insights connection string cannot be used, or undefined. It is `Key=value` pairs
 * separated by `;`; InstrumentationKey is required, and the exporter speaks https only (docs/REFERENCE.md
 * §4), so an http IngestionEndpoint would lose every result. Checked at start, before any
 * probe runs, so a typo is not discovered only once the results are lost.
 */
export function connectionStringProblem(value: string): string | undefined {
  const pairs = new Map<string, string>();
  for (const part of value.split(";")) {
    if (part.trim() === "") continue;
    const eq = part.indexOf("=");
    if (eq <= 0)
      return "must be Key=value pairs separated by ; (copy it from the App Insights resource's Overview page)";
    pairs.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).trim());
  }
  const ikey = pairs.get("instrumentationkey");
  if (!ikey) return "has no InstrumentationKey";
  if (!GUID.test(ikey)) return "has an InstrumentationKey that is not a GUID";
  for (const name of ["ingestionendpoint", "liveendpoint"]) {
    const endpoint = pairs.get(name);
    if (endpoint === undefined) continue;
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch {
      return `has an ${name === "ingestionendpoint" ? "IngestionEndpoint" : "LiveEndpoint"} that is not an absolute URL`;
    }
    if (url.protocol !== "https:")
      return `has an ${name === "ingestionendpoint" ? "IngestionEndpoint" : "LiveEndpoint"} that is not https (the exporter sends over https only)`;
  }
  return undefined;
}
