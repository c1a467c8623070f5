import { ConfidentialClientApplication, LogLevel, type Configuration } from "@azure/msal-node";
import type { Dispatcher } from "undici";
import { CLOUDS, type CloudName } from "../../entra/clouds.js";
import { TOKEN_NOT_JWT, TokenAcquisitionError, TransportError } from "../errors.js";
import { Secret } from "../settings/secret.js";
import type { ProbeConfig } from "../settings/types.js";
import { createMsalNetworkClient, tokenCallObservation, type TokenCallObservation } from "./msal-network-client.js";
import { translateMsalError } from "./translate-msal-error.js";
import { summarizeToken } from "./summary.js";
import { managedIdentityCredential } from "./managed-identity.js";

/** Which client asks: the probe's own, or the one never granted the API's role. */
export type ClientRole = "probe" | "unassigned";

export interface AcquiredToken {
  accessToken: Secret;
  fromCache: boolean;
}

/** Acquires client-credentials tokens; throws TokenAcquisitionError or TransportError. */
export interface TokenSource {
  acquire(client: ClientRole, scope: string, signal?: AbortSignal): Promise<AcquiredToken>;
}

/** The managed identity's side of the federated credential (@azure/identity's TokenCredential shape). */
export interface AssertionCredential {
  getToken(scope: string): Promise<{ token: string } | null>;
}

/**
 * The scope of the managed identity's token used as a federated client assertion: the cloud's
 * token-exchange audience (`api://AzureADTokenExchange` in the public cloud, `...USGov`, `...China`;
 * docs/REFERENCE.md §7). An emulated authority with no PROBE_CLOUD is taken as the public cloud.
 */
export function tokenExchangeScope(cloud: CloudName | undefined): string {
  return `${CLOUDS[cloud ?? "public"].federatedAudience}/.default`;
}

export interface MsalTokenSourceDeps {
  dispatcher: Dispatcher;
  /** For PROBE_CREDENTIAL=managed-identity; default: @azure/identity ManagedIdentityCredential. */
  managedIdentity?: AssertionCredential;
}

/**
 * One MSAL ConfidentialClientApplication per client, created on first use and kept for the life of
 * this object: MSAL's in-memory cache then serves repeat requests, so a warm process makes one
 * token request per client and scope per token lifetime (MSAL renews 5 min before expiry).
 * Keep the TokenSource (or the engine holding it) at module scope across runs.
 */
export function createMsalTokenSource(config: ProbeConfig, deps: MsalTokenSourceDeps): TokenSource {
  const authority = `${config.authorityHost}/${config.tenantId}`;
  const networkClient = createMsalNetworkClient({
    dispatcher: deps.dispatcher,
    allowedOrigins: new Set([config.authorityHost]),
    timeoutMs: config.timeoutMs,
  });
  const system: Configuration["system"] = {
    networkClient,
    // MSAL's logger could print PII; we report failures ourselves.
    loggerOptions: { logLevel: LogLevel.Error, piiLoggingEnabled: false, loggerCallback: () => undefined },
  };
  // knownAuthorities: MSAL trusts this host without asking login.microsoftonline.com for instance
  // discovery, which a sovereign cloud or the sandbox would fail (docs/REFERENCE.md §6).
  const knownAuthorities = [new URL(config.authorityHost).host];
  const apps = new Map<ClientRole, ConfidentialClientApplication>();
  const exchangeScope = tokenExchangeScope(config.cloud);
  const exchangeAudience = exchangeScope.slice(0, -"/.default".length);
  let managedIdentity = deps.managedIdentity;

  async function federatedAssertion(): Promise<string> {
    if (config.credential.kind !== "managed-identity") throw new TypeError("not a managed-identity credential");
    if (!managedIdentity) {
      const id = config.credential.managedIdentityClientId;
      managedIdentity = await managedIdentityCredential({
        ...(id ? { clientId: id } : {}),
        extraCaPem: config.extraCaPem,
      });
    }
    let result: { token: string } | null;
    try {
      result = await managedIdentity.getToken(exchangeScope);
    } catch (error) {
      throw new TokenAcquisitionError(
        `the managed identity could not get its token for ${exchangeAudience}`,
        { oauthError: "managed_identity_unavailable" },
        { cause: error },
      );
    }
    if (!result)
      throw new TokenAcquisitionError(`the managed identity returned no token for ${exchangeAudience}`, {
        oauthError: "managed_identity_unavailable",
      });
    return result.token;
  }

  function appFor(client: ClientRole): ConfidentialClientApplication {
    const existing = apps.get(client);
    if (existing) return existing;
    let auth: Configuration["auth"];
    if (client === "unassigned") {
      if (!config.unassignedClient) throw new TypeError("no unassigned client configured");
      auth = { clientId: config.unassignedClient.clientId, clientSecret: config.unassignedClient.secret.reveal() };
    } else {
      const c = config.credential;
      auth =
        c.kind === "secret"
          ? { clientId: config.clientId, clientSecret: c.secret.reveal() }
          : c.kind === "certificate"
            ? {
                clientId: config.clientId,
                clientCertificate: {
                  thumbprintSha256: c.thumbprintSha256,
                  privateKey: c.privateKey.reveal(),
                  x5c: c.certificatePem,
                },
              }
            : { clientId: config.clientId, clientAssertion: federatedAssertion };
    }
    const app = new ConfidentialClientApplication({ auth: { ...auth, authority, knownAuthorities }, system });
    apps.set(client, app);
    return app;
  }

  return {
    async acquire(client, scope, signal) {
      const app = appFor(client);
      const observed: TokenCallObservation = {};
      const attempt = tokenCallObservation.run(observed, () => app.acquireTokenByClientCredential({ scopes: [scope] }));
      try {
        // One deadline for the whole acquisition (discovery + token request), like any API request.
        const result = await raceAbort(
          attempt,
          [
            { signal: AbortSignal.timeout(config.timeoutMs), why: `no token within ${config.timeoutMs} ms from` },
            ...(signal ? [{ signal, why: "the run budget was exhausted calling" }] : []),
          ],
          config.authorityHost,
        );
        if (!result?.accessToken) throw new TokenAcquisitionError(`token request for ${scope} returned no token`, {});
        // Every probe after this one reads or re-signs the token's claims: a token that is not a JWT
        // is named here, where it came from, not as a TypeError in the forged-token probes.
        // Its compact form too: it travels as `Authorization: Bearer <token>`, and a newline or a space
        // in it (a proxy or a non-Entra issuer appending one) would be refused by the HTTP client.
        if (!JWS_COMPACT.test(result.accessToken) || !summarizeToken(result.accessToken)) {
          throw new TokenAcquisitionError(`token request for ${scope} returned an access token that is not a JWT`, {
            oauthError: TOKEN_NOT_JWT,
          });
        }
        return { accessToken: new Secret(result.accessToken), fromCache: result.fromCache ?? false };
      } catch (error) {
        if (error instanceof TransportError && !observed.transport) throw error;
        throw translateMsalError(error, observed, scope);
      }
    },
  };
}

/** A JWS in compact serialization (RFC 7515 section 7.1): three base64url parts, nothing else. */
const JWS_COMPACT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

function raceAbort<T>(
  promise: Promise<T>,
  deadlines: { signal: AbortSignal; why: string }[],
  origin: string,
): Promise<T> {
  const fired = deadlines.find((d) => d.signal.aborted);
  if (fired)
    return Promise.reject(
      new TransportError(`timeout: ${fired.why} ${origin}`, "timeout", { cause: fired.signal.reason }),
    );
  return new Promise<T>((resolve, reject) => {
    const listeners = deadlines.map((d) => {
      const onAbort = () =>
        reject(new TransportError(`timeout: ${d.why} ${origin}`, "timeout", { cause: d.signal.reason }));
      d.signal.addEventListener("abort", onAbort, { once: true });
      return () => d.signal.removeEventListener("abort", onAbort);
    });
    const cleanup = () => listeners.forEach((remove) => remove());
    promise.then(
      (v) => {
        cleanup();
        resolve(v);
      },
      (e: unknown) => {
        cleanup();
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}
