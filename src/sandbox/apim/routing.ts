import type { ApiDefinition } from "./types.js";

export interface Route {
  api: ApiDefinition;
  /** The path after the API's suffix, always starting with `/` (or empty). */
  rest: string;
}

/** Normalises an API suffix: leading slash, no trailing slash; the root API is "". */
export function normaliseApiPath(path: string): string {
  const trimmed = path.trim().replace(/\/+$/, "");
  if (trimmed === "") return "";
  return trimmed.startsWith("/") ? trimmed : `/${trimmed}`;
}

/** The API whose suffix is the longest prefix of `pathname` on a segment boundary. */
export function findRoute(apis: readonly ApiDefinition[], pathname: string): Route | undefined {
  let best: Route | undefined;
  let bestLength = -1;
  for (const api of apis) {
    const prefix = normaliseApiPath(api.path);
    if (pathname !== prefix && !pathname.startsWith(`${prefix}/`)) continue;
    if (prefix.length > bestLength) {
      best = { api, rest: pathname.slice(prefix.length) };
      bestLength = prefix.length;
    }
  }
  return best;
}
