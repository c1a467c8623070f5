import type { JWK } from "jose";
import { request, type Dispatcher } from "undici";
import { z } from "zod";
import { OpenIdConfigError } from "./errors.js";

/** What an openid-config document gives validate-jwt: its issuer and its signing keys. */
export interface OpenIdConfig {
  /** The URL as written in the policy. */
  url: string;
  issuer: string;
  keys: readonly JWK[];
}

/** How the evaluator obtains openid-config documents; the resolver below is the real one. */
export interface SigningKeyResolver {
  /**
   * The document behind `url`, cached. With `kid`, a key the cache does not hold triggers a refetch
   * (rate-limited), so a freshly rotated key is found the way APIM finds it.
   */
  resolve(url: string, options?: { kid?: string }): Promise<OpenIdConfig>;
}

export interface OpenIdConfigResolverOptions {
  dispatcher: Dispatcher;
  now: () => number;
  /**
   * Maps a URL before it is fetched (both the document and its jwks_uri). The sandbox uses it to send
   * `login.microsoftonline.com` to the emulated tenant while policies keep Azure's real URLs.
   */
  rewriteUrl?: (url: URL) => URL;
  /** Per request, headers and body each. Default 10 s. */
  timeoutMs?: number;
}

// [A] validate-jwt-policy.md, openid-config: "pulled from the endpoint every 1 hour and cached. If the
// token ... references a validation key (kid) that is missing in cached configuration, or if retrieval
// fails, API Management pulls from the endpoint at most once per 5 min." (docs/REFERENCE.md §3)
export const METADATA_TTL_MS = 60 * 60 * 1000;
export const REFETCH_INTERVAL_MS = 5 * 60 * 1000;
const MAX_BODY_CHARS = 1_000_000;

const metadataSchema = z.looseObject({ issuer: z.string().min(1), jwks_uri: z.string().min(1) });
const jwksSchema = z.object({
  keys: z.array(z.looseObject({ kty: z.string(), kid: z.string().optional(), use: z.string().optional() })),
});

interface CacheEntry {
  config?: OpenIdConfig;
  fetchedAt: number;
  lastAttemptAt: number;
  lastError?: unknown;
  inFlight?: Promise<OpenIdConfig>;
}

/** The body as text, or undefined (and the body destroyed) once it passes MAX_BODY_CHARS bytes. */
async function readBounded(body: Dispatcher.ResponseData["body"]): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_CHARS) {
      body.destroy();
      return undefined;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

export function createOpenIdConfigResolver(options: OpenIdConfigResolverOptions): SigningKeyResolver {
  const { dispatcher, now } = options;
  const rewrite = options.rewriteUrl ?? ((url: URL) => url);
  const timeoutMs = options.timeoutMs ?? 10_000;
  const cache = new Map<string, CacheEntry>();

  async function getJson(policyUrl: string, target: URL, kind: "document" | "jwks"): Promise<unknown> {
    const url = rewrite(new URL(target));
    if (url.protocol !== "https:") {
      throw new OpenIdConfigError(policyUrl, "refused", `refusing to fetch ${kind} over ${url.protocol}`);
    }
    let response: Dispatcher.ResponseData;
    try {
      response = await request(url, {
        dispatcher,
        method: "GET",
        headers: { accept: "application/json" },
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
    } catch (cause) {
      throw new OpenIdConfigError(policyUrl, "transport", `${kind} request to ${url.origin} failed`, { cause });
    }
    if (response.statusCode !== 200) {
      await response.body.dump();
      throw new OpenIdConfigError(policyUrl, "status", `${kind} answered HTTP ${response.statusCode}`);
    }
    // Read up to the limit and stop: the document (or a jwks_uri it names) is not ours, and an
    // endless body that keeps the idle timers happy must not be buffered whole.
    const text = await readBounded(response.body);
    if (text === undefined)
      throw new OpenIdConfigError(policyUrl, kind, `${kind} is larger than ${MAX_BODY_CHARS} characters`);
    try {
      return JSON.parse(text) as unknown;
    } catch (cause) {
      throw new OpenIdConfigError(policyUrl, kind, `${kind} is not JSON`, { cause });
    }
  }

  async function fetchConfig(url: string): Promise<OpenIdConfig> {
    const metadata = metadataSchema.safeParse(await getJson(url, new URL(url), "document"));
    if (!metadata.success) {
      throw new OpenIdConfigError(url, "document", "document lacks issuer or jwks_uri", { cause: metadata.error });
    }
    let jwksUri: URL;
    try {
      jwksUri = new URL(metadata.data.jwks_uri);
    } catch (cause) {
      throw new OpenIdConfigError(url, "document", "jwks_uri is not an absolute URL", { cause });
    }
    const jwks = jwksSchema.safeParse(await getJson(url, jwksUri, "jwks"));
    if (!jwks.success) throw new OpenIdConfigError(url, "jwks", "JWKS lacks a keys array", { cause: jwks.error });
    const keys = jwks.data.keys.filter((key) => key.use === undefined || key.use === "sig") as JWK[];
    return { url, issuer: metadata.data.issuer, keys };
  }

  function refetch(url: string, entry: CacheEntry): Promise<OpenIdConfig> {
    entry.lastAttemptAt = now();
    const attempt = fetchConfig(url).then(
      (config) => {
        entry.config = config;
        entry.fetchedAt = entry.lastAttemptAt;
        delete entry.lastError;
        return config;
      },
      (error: unknown) => {
        entry.lastError = error;
        // A stale document beats none: the keys it holds were valid an hour ago and usually still are.
        if (entry.config !== undefined) return entry.config;
        throw error;
      },
    );
    entry.inFlight = attempt.finally(() => delete entry.inFlight);
    return entry.inFlight;
  }

  return {
    async resolve(url, resolveOptions = {}) {
      let entry = cache.get(url);
      if (entry === undefined) {
        entry = { fetchedAt: 0, lastAttemptAt: 0 };
        cache.set(url, entry);
        return refetch(url, entry);
      }
      if (entry.inFlight !== undefined) return entry.inFlight;
      const at = now();
      const mayRefetch = at - entry.lastAttemptAt >= REFETCH_INTERVAL_MS;
      const config = entry.config;
      if (config === undefined) {
        if (mayRefetch) return refetch(url, entry);
        throw entry.lastError;
      }
      const expired = at - entry.fetchedAt >= METADATA_TTL_MS;
      const { kid } = resolveOptions;
      const unknownKid = kid !== undefined && !config.keys.some((key) => key.kid === kid);
      if ((expired || unknownKid) && mayRefetch) return refetch(url, entry);
      return config;
    },
  };
}
