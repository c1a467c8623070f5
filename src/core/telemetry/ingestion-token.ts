import type { AccessToken, GetTokenOptions, TokenCredential } from "@azure/identity";
import { escapeRemoteText } from "../http/remote-text.js";
import type { IngestionProblem } from "./ingestion-problems.js";

/**
 * How long the managed identity gets to give ingestion a token. Its endpoint is local to the host
 * (App Service's IDENTITY_ENDPOINT, IMDS) and answers in milliseconds; @azure/identity retries an
 * unreachable one for seconds at a time, and the exporter asks again on each of its retries, which
 * would spend the whole delivery waiting and then blame ingestion.
 */
const TOKEN_WAIT_MS = 10_000;

/**
 * A failure is believed this long: the exporter's in-memory retries within one delivery are
 * answered at once, with the first failure's reason, instead of each waiting for the endpoint again.
 */
const FAILURE_MEMORY_MS = 60_000;

/** The managed identity's token for ingestion, and why it could not be had. */
export interface IngestionTokenCredential extends TokenCredential {
  /** Why the last token request failed, while that is recent; undefined once one succeeds. */
  problem(): IngestionProblem | undefined;
}

const FIX =
  "Entra-authenticated ingestion (APPLICATIONINSIGHTS_AUTHENTICATION_STRING) sends with the app's managed identity: turn the identity on " +
  "(the Function App's Identity blade; a user-assigned identity must be assigned to the app, and its client id is the setting's ClientId), " +
  "and check that the host provides its endpoint (IDENTITY_ENDPOINT and IDENTITY_HEADER in Azure Functions; off Azure there is none unless " +
  "one is emulated). To send with the connection string's key instead, remove the setting, where the resource allows local authentication";

/**
 * Wraps the credential the exporter asks for ingestion's token: each request bounded in time, a
 * failure remembered for a minute, and its reason kept so the delivery names it. Without this the
 * exporter's failed token request never reaches the wire, and every result reads as "no answer from
 * ingestion", which sends an on-call engineer to the network instead of to the identity.
 */
export function observeIngestionToken(
  credential: () => Promise<TokenCredential>,
  context: { host: string; clientId?: string },
  now: () => number = Date.now,
): IngestionTokenCredential {
  let failure: { problem: IngestionProblem; error: Error; until: number } | undefined;
  let inner: Promise<TokenCredential> | undefined;
  const who = `the managed identity${context.clientId ? ` (client id ${context.clientId})` : ""}`;

  return {
    problem: () => (failure && now() < failure.until ? failure.problem : undefined),
    async getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken | null> {
      if (failure && now() < failure.until) throw failure.error;
      try {
        inner ??= credential();
        const token = await withDeadline((await inner).getToken(scopes, options), TOKEN_WAIT_MS);
        if (!token) throw new Error("no token returned");
        failure = undefined;
        return token;
      } catch (error) {
        const why = error instanceof Error ? `${error.name}: ${error.message}` : "error";
        failure = {
          error: error instanceof Error ? error : new Error(String(error)),
          until: now() + FAILURE_MEMORY_MS,
          problem: {
            reason: `not sent to ingestion at ${context.host}: ${who} gave no token (${escapeRemoteText(why).slice(0, 240)})`,
            fix: FIX,
          },
        };
        throw failure.error;
      }
    },
  };
}

function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}
