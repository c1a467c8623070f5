import { timingSafeEqual } from "node:crypto";
import type { ApiDefinition } from "./types.js";

export const DEFAULT_KEY_HEADER = "Ocp-Apim-Subscription-Key";
export const DEFAULT_KEY_QUERY = "subscription-key";

export type SubscriptionCheck =
  | { ok: true }
  | { ok: false; reason: "SubscriptionKeyNotFound" | "SubscriptionKeyInvalid"; wwwAuthenticate: string };

/**
 * APIM checks the subscription key before any inbound policy: header first, then query parameter
 * (FACTS.md §3). An API that does not require a subscription ignores keys.
 */
export function checkSubscription(
  api: ApiDefinition,
  headers: { get(name: string): string | null },
  url: URL,
  host: string,
): SubscriptionCheck {
  if (!api.subscriptionRequired) return { ok: true };
  const headerName = api.subscriptionKeyHeaderName ?? DEFAULT_KEY_HEADER;
  const queryName = api.subscriptionKeyQueryParamName ?? DEFAULT_KEY_QUERY;
  const key = headers.get(headerName) ?? url.searchParams.get(queryName);
  const apiPath = api.path.replace(/^\/+/, "");
  const wwwAuthenticate = `AzureApiManagementKey realm="https://${host}/${apiPath}",name="${headerName}",type="header"`;
  if (key === null || key === "") return { ok: false, reason: "SubscriptionKeyNotFound", wwwAuthenticate };
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
