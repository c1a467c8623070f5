import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createProbeDispatcher } from "../../../src/core/http/dispatcher.js";
import { sendProbeRequest } from "../../../src/core/http/probe-request.js";
import { startLoopbackHttps, type LoopbackServer } from "./loopback-https.js";

// A backend (or a custom policy) that quotes the request's credentials in its error text.
let echo: LoopbackServer;

beforeAll(async () => {
  echo = await startLoopbackHttps((req, res) => {
    const authorization = req.headers.authorization ?? "";
    const key = String(req.headers["ocp-apim-subscription-key"] ?? "");
    res
      .writeHead(401, {
        "content-type": "application/json",
        "www-authenticate": `Bearer error="invalid_token", error_description="rejected ${authorization} with key ${key}"`,
      })
      .end(JSON.stringify({ error: { message: `Unauthorized: ${authorization}; key ${key}` } }));
  });
});
afterAll(async () => {
  await echo.close();
});

// Not a JWT: no `eyJ` prefix, so only the "what we sent" rule can catch it.
const OPAQUE_TOKEN = "opaque-access-token-0123456789abcdefABCDEF";
const JWT = "eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJhcGk6Ly9vcmRlcnMifQ.c2lnbmF0dXJl";
const KEY = "0123456789abcdef0123456789abcdef";

describe("sendProbeRequest scrubs what it sent out of the answer's text", () => {
  it.each([
    ["an opaque token", OPAQUE_TOKEN],
    ["a JWT", JWT],
  ])("apimMessage and WWW-Authenticate never carry %s or the subscription key", async (_what, token) => {
    const res = await sendProbeRequest(
      {
        url: `${echo.origin}/orders`,
        method: "GET",
        headers: { authorization: `Bearer ${token}`, "ocp-apim-subscription-key": KEY },
        timeoutMs: 5_000,
      },
      { dispatcher: createProbeDispatcher({ extraCaPem: [echo.caPem] }), allowedOrigins: new Set([echo.origin]) },
    );
    expect(res.status).toBe(401);
    for (const text of [res.apimMessage, res.wwwAuthenticate]) {
      expect(text).toBeDefined();
      expect(text).not.toContain(token);
      expect(text).not.toContain(KEY);
      expect(text).toContain("[redacted]");
    }
    // The rest of the server's text survives: it is what explains the refusal.
    expect(res.apimMessage).toMatch(/^Unauthorized: Bearer \[redacted\]; key \[redacted\]$/);
    expect(res.wwwAuthenticate).toContain('error="invalid_token"');
  });
});
