import type { IncomingMessage, ServerResponse } from "node:http";
import { generateKeyPair, SignJWT } from "jose";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { TokenAcquisitionError } from "../../../src/core/errors.js";
import { createProbeDispatcher } from "../../../src/core/http/dispatcher.js";
import { defaultExpectedStatuses } from "../../../src/core/settings/defaults.js";
import { Secret } from "../../../src/core/settings/secret.js";
import type { ProbeConfig } from "../../../src/core/settings/types.js";
import { MAX_TOKEN_RESPONSE_BYTES } from "../../../src/core/tokens/msal-network-client.js";
import { createMsalTokenSource } from "../../../src/core/tokens/token-source.js";
import { closedBeforeAnswer, startLoopbackHttps, type LoopbackServer } from "../http/loopback-https.js";

const TENANT = "7d3c2f4e-1a6b-4c59-9e2d-5b8f0a1c3e47";
const CLIENT = "c2a8e5f1-7b39-4d06-8e4a-1f5c9b3d7a62";
const keys = await generateKeyPair("RS256");

/** A minimal token endpoint: enough of Entra for MSAL (discovery + v2 token), with a switchable answer. */
let answer: "token" | "bad-secret" | "plain-429" | "hang" | "endless" = "token";
let endlessSent = 0;
let tokenRequests = 0;
let bodies: string[] = [];
/** For each token request the `hang` endpoint got: whether the client hung up on it before it was answered. */
const hungUp: Promise<boolean>[] = [];
let entra: LoopbackServer;

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const origin = entra.origin;
  if (req.url?.endsWith("/.well-known/openid-configuration")) {
    res.writeHead(200, { "content-type": "application/json" }).end(
      JSON.stringify({
        issuer: `https://login.microsoftonline.com/${TENANT}/v2.0`,
        token_endpoint: `${origin}/${TENANT}/oauth2/v2.0/token`,
        authorization_endpoint: `${origin}/${TENANT}/oauth2/v2.0/authorize`,
        end_session_endpoint: `${origin}/${TENANT}/oauth2/v2.0/logout`,
        jwks_uri: `${origin}/${TENANT}/discovery/v2.0/keys`,
      }),
    );
    return;
  }
  let body = "";
  for await (const chunk of req) body += String(chunk);
  bodies.push(body);
  tokenRequests++;
  if (answer === "hang") return void hungUp.push(closedBeforeAnswer(res));
  if (answer === "endless") {
    // A body that never ends: 64 KB chunks for as long as the client reads.
    res.writeHead(200, { "content-type": "application/json" });
    res.write('{"token_type":"Bearer","access_token":"');
    const chunk = "A".repeat(64 * 1024);
    const pump = (): void => {
      while (!res.destroyed && res.write(chunk)) endlessSent += chunk.length;
      if (!res.destroyed) res.once("drain", pump);
    };
    pump();
    return;
  }
  if (answer === "plain-429") {
    res.writeHead(429, { "content-type": "text/plain", "retry-after": "60" }).end("Too Many Requests");
    return;
  }
  if (answer === "bad-secret") {
    res.writeHead(401, { "content-type": "application/json" }).end(
      JSON.stringify({
        error: "invalid_client",
        error_description: "AADSTS7000215: Invalid client secret provided. Trace ID: x Correlation ID: y Timestamp: z",
        error_codes: [7000215],
      }),
    );
    return;
  }
  const scope = new URLSearchParams(body).get("scope") ?? "";
  const token = await new SignJWT({
    aud: scope.replace("/.default", ""),
    azp: CLIENT,
    ver: "2.0",
    roles: ["Api.Access"],
  })
    .setProtectedHeader({ alg: "RS256", kid: "k1" })
    .setIssuedAt()
    .setExpirationTime("1h")
    .sign(keys.privateKey);
  res
    .writeHead(200, { "content-type": "application/json" })
    .end(JSON.stringify({ token_type: "Bearer", expires_in: 3599, ext_expires_in: 3599, access_token: token }));
}

beforeAll(async () => {
  entra = await startLoopbackHttps((req, res) => void handle(req, res));
});
afterAll(() => entra.close());
beforeEach(() => {
  answer = "token";
  tokenRequests = 0;
  bodies = [];
});

function config(secret = "canary-client-secret-1"): ProbeConfig {
  return {
    tenantId: TENANT,
    authorityHost: entra.origin,
    clientId: CLIENT,
    credential: { kind: "secret", secret: new Secret(secret) },
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

const dispatcher = () => createProbeDispatcher({ extraCaPem: [entra.caPem] });

describe("createMsalTokenSource", () => {
  it("gets a token through the injected dispatcher and serves repeats from MSAL's cache", async () => {
    const source = createMsalTokenSource(config(), { dispatcher: dispatcher() });
    const first = await source.acquire("probe", "api://orders-api/.default");
    const second = await source.acquire("probe", "api://orders-api/.default");
    expect(first.fromCache).toBe(false);
    expect(second.fromCache).toBe(true);
    expect(second.accessToken.reveal()).toBe(first.accessToken.reveal());
    expect(tokenRequests).toBe(1);
    expect(bodies[0]).toContain("client_credentials");
  });

  it("keeps the AADSTS code, OAuth error and status of a refusal", async () => {
    answer = "bad-secret";
    const source = createMsalTokenSource(config("bad-canary-secret"), { dispatcher: dispatcher() });
    const error = await source.acquire("probe", "api://orders-api/.default").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenAcquisitionError);
    expect((error as TokenAcquisitionError).details).toMatchObject({
      aadsts: 7000215,
      oauthError: "invalid_client",
      status: 401,
    });
    expect((error as Error).message).not.toContain("bad-canary-secret");
  });

  it("reports a plain-text 429 as throttled with Retry-After, not as a parsing error", async () => {
    answer = "plain-429";
    const source = createMsalTokenSource(config(), { dispatcher: dispatcher() });
    const error = await source.acquire("probe", "api://orders-api/.default").catch((e: unknown) => e);
    expect((error as TokenAcquisitionError).details).toMatchObject({
      oauthError: "throttled",
      status: 429,
      retryAfterSeconds: 60,
    });
  });

  // Without a deadline the acquisition would never settle: the suite's test timeout is the hang guard.
  it("ends a hung token endpoint at the deadline as TransportError timeout, hanging up on it", async () => {
    answer = "hang";
    hungUp.length = 0;
    const source = createMsalTokenSource({ ...config(), timeoutMs: 400 }, { dispatcher: dispatcher() });
    const error = await source.acquire("probe", "api://orders-api/.default").catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "APIM_SMOKE_TRANSPORT", kind: "timeout" });
    // Our deadline (the acquisition's or its request's), not the run budget.
    expect((error as Error).message).toMatch(/within 400 ms/);
    // One token request, not retried after the timeout, and aborted rather than abandoned: the
    // endpoint saw it hung up on, unanswered.
    expect(tokenRequests).toBe(1);
    expect(await Promise.all(hungUp)).toEqual([true]);
  });

  it("stops reading an endless token answer at its bound and names the cause, well before the deadline", async () => {
    answer = "endless";
    endlessSent = 0;
    const source = createMsalTokenSource({ ...config(), timeoutMs: 60_000 }, { dispatcher: dispatcher() });
    const error = await source.acquire("probe", "api://orders-api/.default").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenAcquisitionError);
    expect((error as TokenAcquisitionError).details).toMatchObject({ oauthError: "response_too_large", status: 200 });
    expect((error as Error).message).toContain(`longer than ${MAX_TOKEN_RESPONSE_BYTES} bytes`);
    expect((error as Error).message).toContain(entra.origin);
    // The server could not push much more than the bound before the client hung up (socket buffers aside).
    expect(endlessSent).toBeLessThan(MAX_TOKEN_RESPONSE_BYTES * 16);
  });

  it("refuses an http authority before any request", async () => {
    const source = createMsalTokenSource(
      { ...config(), authorityHost: entra.origin.replace("https:", "http:") },
      { dispatcher: dispatcher() },
    );
    await expect(source.acquire("probe", "api://orders-api/.default")).rejects.toBeDefined();
    expect(tokenRequests).toBe(0);
  });
});
