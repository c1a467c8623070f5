import type { IncomingMessage, ServerResponse } from "node:http";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ProbeError } from "../../../src/core/errors.js";
import { createProbeDispatcher } from "../../../src/core/http/dispatcher.js";
import { defaultExpectedStatuses } from "../../../src/core/settings/defaults.js";
import { Secret } from "../../../src/core/settings/secret.js";
import type { ProbeConfig } from "../../../src/core/settings/types.js";
import { createMsalTokenSource } from "../../../src/core/tokens/token-source.js";
import { startLoopbackHttps, type LoopbackServer } from "../http/loopback-https.js";

const TENANT = "7d3c2f4e-1a6b-4c59-9e2d-5b8f0a1c3e47";
const CLIENT = "c2a8e5f1-7b39-4d06-8e4a-1f5c9b3d7a62";
const SECRET = "canary-client-secret-never-leaves";

/** Where the authority tries to send the client secret. */
let mode: "foreign-token-endpoint" | "redirecting-token-endpoint" = "foreign-token-endpoint";
let entra: LoopbackServer;
let elsewhere: LoopbackServer;

function handle(req: IncomingMessage, res: ServerResponse): void {
  const origin = entra.origin;
  if (req.url?.endsWith("/.well-known/openid-configuration")) {
    const tokenOrigin = mode === "foreign-token-endpoint" ? elsewhere.origin : origin;
    res.writeHead(200, { "content-type": "application/json" }).end(
      JSON.stringify({
        issuer: `https://login.microsoftonline.com/${TENANT}/v2.0`,
        token_endpoint: `${tokenOrigin}/${TENANT}/oauth2/v2.0/token`,
        authorization_endpoint: `${origin}/${TENANT}/oauth2/v2.0/authorize`,
        end_session_endpoint: `${origin}/${TENANT}/oauth2/v2.0/logout`,
        jwks_uri: `${origin}/${TENANT}/discovery/v2.0/keys`,
      }),
    );
    return;
  }
  // 307 keeps the method and body: a client that followed it would re-post the secret.
  res.writeHead(307, { location: `${elsewhere.origin}/${TENANT}/oauth2/v2.0/token` }).end();
}

beforeAll(async () => {
  elsewhere = await startLoopbackHttps((_req, res) => res.writeHead(500).end());
  entra = await startLoopbackHttps(handle);
});
afterAll(async () => {
  await entra.close();
  await elsewhere.close();
});
beforeEach(() => {
  elsewhere.requests.length = 0;
});

function config(): ProbeConfig {
  return {
    tenantId: TENANT,
    authorityHost: entra.origin,
    clientId: CLIENT,
    credential: { kind: "secret", secret: new Secret(SECRET) },
    wrongAudienceScope: "https://graph.microsoft.com/.default",
    wrongAudienceIsOwnApp: false,
    timeoutMs: 5_000,
    certWarnDays: 30,
    graphUrl: "https://graph.microsoft.com",
    extraCaPem: [],
    targets: [
      {
        name: "t",
        url: "https://127.0.0.1:1/x",
        method: "GET",
        scope: "api://orders-api/.default",
        expectedStatuses: defaultExpectedStatuses(),
        probes: ["token"],
      },
    ],
  };
}

describe("the client secret only goes to the configured authority", () => {
  it.each(["foreign-token-endpoint", "redirecting-token-endpoint"] as const)(
    "%s: nothing reaches another origin",
    async (m) => {
      mode = m;
      const source = createMsalTokenSource(config(), {
        dispatcher: createProbeDispatcher({ extraCaPem: [entra.caPem, elsewhere.caPem] }),
      });
      const error = await source.acquire("probe", "api://orders-api/.default").catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ProbeError);
      expect(elsewhere.requests).toEqual([]);
      expect(String((error as Error).message)).not.toContain(SECRET);
    },
  );

  it("a token endpoint on another origin is reported as the refusal it is, not as a network error", async () => {
    mode = "foreign-token-endpoint";
    const source = createMsalTokenSource(config(), {
      dispatcher: createProbeDispatcher({ extraCaPem: [entra.caPem, elsewhere.caPem] }),
    });
    const error = await source.acquire("probe", "api://orders-api/.default").catch((e: unknown) => e);
    expect((error as ProbeError).code).toBe("APIM_SMOKE_UNSAFE_REQUEST");
    expect((error as Error).message).toContain(elsewhere.origin);
    expect(elsewhere.requests).toEqual([]);
  });
});
