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

describe("sendProbeRequest treats the answer's text as data", () => {
  let hostile: LoopbackServer;
  beforeAll(async () => {
    hostile = await startLoopbackHttps((req, res) => {
      const key = String(req.headers["ocp-apim-subscription-key"] ?? "");
      res
        .writeHead(req.url === "/ok" ? 200 : 401, {
          "content-type": "application/json",
          // A backend echoing the key upper-cased, and a header value an assertion compares.
          "x-echo-key": key.toUpperCase(),
          "x-request-id-ish": "id\u009b2J",
        })
        .end(JSON.stringify({ message: `denied \u001b[2J\u001b[H key ${key.toUpperCase()} \u202egnp.exe\u0000` }));
    });
  });
  afterAll(async () => {
    await hostile.close();
  });

  const send = (path: string) =>
    sendProbeRequest(
      {
        url: `${hostile.origin}${path}`,
        method: "GET",
        headers: { "ocp-apim-subscription-key": KEY },
        timeoutMs: 5_000,
        keepAnswer: true,
      },
      { dispatcher: createProbeDispatcher({ extraCaPem: [hostile.caPem] }), allowedOrigins: new Set([hostile.origin]) },
    );

  it("escapes control characters and bidi overrides, and redacts the key whatever its case", async () => {
    const res = await send("/denied");
    expect(res.apimMessage).toBeDefined();
    // eslint-disable-next-line no-control-regex
    expect(res.apimMessage).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202e]/);
    expect(res.apimMessage).toContain("\\x1b[2J");
    expect(res.apimMessage).toContain("\\u202e");
    expect(res.apimMessage!.toLowerCase()).not.toContain(KEY);
  });

  it("header values kept for assertions are redacted and escaped too", async () => {
    const res = await send("/ok");
    expect(res.headers?.["x-echo-key"]).toBe("[redacted]");
    expect(res.headers?.["x-request-id-ish"]).toBe("id\\x9b2J");
  });
});
