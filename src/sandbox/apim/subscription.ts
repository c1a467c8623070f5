import { timingSafeEqual } from "node:crypto";
import type { ApiDefinition } from "./types.js";

export const DEFAULT_KEY_HEADER = "Ocp-Apim-Subscription-Key";
export const DEFAULT_KEY_QUERY = "subscription-key";

export type SubscriptionCheck =
  { ok: true } | { ok: false; reason: "SubscriptionKeyNotFound" | "SubscriptionKeyInvalid"; wwwAuthenticate: string };

/**
 * APIM checks the subscription key before any inbound policy: header first, then query parameter
 * (docs/REFERENCE.md §3). An API that does not require a subscription still refuses a request that carries
 * a key no subscription of it has ([A] api-management-subscriptions.md: "Access denied: other key
 * not scoped to applicable product or API" in every row, docs/REFERENCE.md §7); only the key-less request
 * gets in.
 */
export function checkSubscription(
  api: ApiDefinition,
  headers: { get(name: string): string | null },
  url: URL,
  host: string,
): SubscriptionCheck {
  const headerName = api.subscriptionKeyHeaderName ?? DEFAULT_KEY_HEADER;
  const queryName = api.subscriptionKeyQueryParamName ?? DEFAULT_KEY_QUERY;
  const key = headers.get(headerName) ?? url.searchParams.get(queryName);
  const apiPath = api.path.replace(/^\/+/, "");
  const wwwAuthenticate = `AzureApiManagementKey realm="https://${host}/${apiPath}",name="${headerName}",type="header"`;
  if (key === null || key === "")
    return api.subscriptionRequired ? { ok: false, reason: "SubscriptionKeyNotFound", wwwAuthenticate } : { ok: true };
  if (!api.subscriptionKeys.some((candidate) => sameKey(candidate, key))) {
    return { ok: false, reason: "SubscriptionKeyInvalid", wwwAuthenticate };
  }
  return { ok: true };
}

/** Constant-time for equal lengths, so the emulator does not teach a timing side channel. */
function sameKey(expected: string, received: string): boolean {
  const a = Buffer.from(expected);
  const b = Buffer.from(received);
  return a.length === b.length && timingSafeEqual(a, b);
}
