import { createServer, type AddressInfo, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TransportError, UnsafeRequestError } from "../../../src/core/errors.js";
import { createProbeDispatcher } from "../../../src/core/http/dispatcher.js";
import { extractErrorMessage, sendProbeRequest } from "../../../src/core/http/probe-request.js";
import { closedBeforeAnswer, startLoopbackHttps, type LoopbackServer } from "./loopback-https.js";

let api: LoopbackServer;
let elsewhere: LoopbackServer;
/** For each /hang request: whether the client hung up on it before it was answered. */
const hungUp: Promise<boolean>[] = [];

beforeAll(async () => {
  elsewhere = await startLoopbackHttps((_req, res) => res.end("ok"));
  api = await startLoopbackHttps((req, res) => {
    if (req.url === "/redirect") {
      res.writeHead(302, { location: `${elsewhere.origin}/stolen` }).end();
    } else if (req.url === "/hang") {
      // Never answers: the deadline must end the request.
      hungUp.push(closedBeforeAnswer(res));
    } else if (req.url === "/denied") {
      res
        .writeHead(401, {
          "content-type": "application/json",
          "apim-request-id": "req-123",
          "www-authenticate": 'AzureApiManagementKey realm="x",name="Ocp-Apim-Subscription-Key",type="header"',
        })
        .end(JSON.stringify({ statusCode: 401, message: "Access denied due to missing subscription key." }));
    } else {
      res.writeHead(200, { "x-ms-request-id": "ms-9" }).end(JSON.stringify({ message: "not an error" }));
    }
  });
});
afterAll(async () => {
  await api.close();
  await elsewhere.close();
});

const deps = () => ({
  dispatcher: createProbeDispatcher({ extraCaPem: [api.caPem, elsewhere.caPem] }),
  allowedOrigins: new Set([api.origin]),
});

describe("sendProbeRequest", () => {
  it("captures APIM's message, the request id and WWW-Authenticate on a refusal", async () => {
    const res = await sendProbeRequest(
      { url: `${api.origin}/denied`, method: "GET", headers: {}, timeoutMs: 5_000 },
      deps(),
    );
    expect(res).toMatchObject({
      status: 401,
      apimMessage: "Access denied due to missing subscription key.",
      requestId: "req-123",
      wwwAuthenticate: expect.stringContaining("AzureApiManagementKey") as string,
    });
  });

  it("takes x-ms-request-id and ignores `message` in success bodies", async () => {
    const res = await sendProbeRequest(
      { url: `${api.origin}/ok`, method: "GET", headers: {}, timeoutMs: 5_000 },
      deps(),
    );
    expect(res.status).toBe(200);
    expect(res.requestId).toBe("ms-9");
    expect(res.apimMessage).toBeUndefined();
  });

  it("does not follow a redirect, so the Authorization header never reaches another origin", async () => {
    const before = elsewhere.requests.length;
    const res = await sendProbeRequest(
      { url: `${api.origin}/redirect`, method: "GET", headers: { authorization: "Bearer canary" }, timeoutMs: 5_000 },
      deps(),
    );
    expect(res.status).toBe(302);
    expect(elsewhere.requests.length).toBe(before);
  });

  it("refuses http and unconfigured origins before sending", async () => {
    await expect(
      sendProbeRequest(
        { url: api.origin.replace("https:", "http:"), method: "GET", headers: {}, timeoutMs: 1_000 },
        deps(),
      ),
    ).rejects.toMatchObject({ code: "APIM_SMOKE_UNSAFE_REQUEST" });
    await expect(
      sendProbeRequest({ url: `${elsewhere.origin}/x`, method: "GET", headers: {}, timeoutMs: 1_000 }, deps()),
    ).rejects.toBeInstanceOf(UnsafeRequestError);
  });

  // Without a deadline the request would never settle: the suite's test timeout is the hang guard.
  it("ends a hung request at its deadline with TransportError timeout, hanging up on the server", async () => {
    hungUp.length = 0;
    const error = await sendProbeRequest(
      { url: `${api.origin}/hang`, method: "GET", headers: {}, timeoutMs: 300 },
      deps(),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransportError);
    expect(error).toMatchObject({ code: "APIM_SMOKE_TRANSPORT", kind: "timeout" });
    // Our deadline, not the run budget or a connection the server dropped.
    expect((error as Error).message).toContain("no answer within 300 ms");
    // The request was aborted, not abandoned: the server saw its one request hung up on, unanswered.
    expect(await Promise.all(hungUp)).toEqual([true]);
  });

  it("ends at its deadline a request whose TLS handshake never completes, also queued behind another (undici does not abort a connect)", async () => {
    // A host that accepts TCP and never speaks TLS: a black-holing firewall, a proxy, a wrong port.
    const sockets: Socket[] = [];
    const silent = createServer((socket) => void sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const origin = `https://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    // The connect timeout far beyond the deadline: only the probe's own deadline can end these requests.
    const d = { dispatcher: createProbeDispatcher({ connectTimeoutMs: 120_000 }), allowedOrigins: new Set([origin]) };
    try {
      const errors = await Promise.all(
        [1, 2, 3].map((n) =>
          sendProbeRequest({ url: `${origin}/${n}`, method: "GET", headers: {}, timeoutMs: 300 }, d).catch(
            (e: unknown) => e,
          ),
        ),
      );
      for (const error of errors) expect(error).toMatchObject({ code: "APIM_SMOKE_TRANSPORT", kind: "timeout" });
    } finally {
      for (const socket of sockets) socket.destroy();
      silent.close();
      await d.dispatcher.destroy();
    }
  }, 20_000);

  it("reports an untrusted certificate as TransportError tls", async () => {
    const untrusting = { ...deps(), dispatcher: createProbeDispatcher() };
    await expect(
      sendProbeRequest({ url: `${api.origin}/ok`, method: "GET", headers: {}, timeoutMs: 5_000 }, untrusting),
    ).rejects.toMatchObject({
      kind: "tls",
    });
  });

  it("reports a refused connection as TransportError connection", async () => {
    const closed = await startLoopbackHttps((_q, r) => r.end());
    await closed.close();
    const d = { ...deps(), allowedOrigins: new Set([closed.origin]) };
    await expect(
      sendProbeRequest({ url: `${closed.origin}/`, method: "GET", headers: {}, timeoutMs: 5_000 }, d),
    ).rejects.toMatchObject({
      kind: "connection",
    });
  });
});

describe("extractErrorMessage", () => {
  it.each([
    ['{"statusCode":401,"message":"Invalid JWT."}', "Invalid JWT."],
    ['{"error":{"code":"x","message":"Backend down"}}', "Backend down"],
    ["Too Many Requests", undefined],
    ["[1,2]", undefined],
  ])("%s", (body, expected) => {
    expect(extractErrorMessage(body)).toBe(expected);
  });
});
