import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OpenIdConfigError } from "../../src/core/errors.js";
import { createProbeDispatcher } from "../../src/core/http/dispatcher.js";
import { createOpenIdConfigResolver } from "../../src/policy/index.js";
import { startLoopbackHttps, type LoopbackServer } from "../core/http/loopback-https.js";

// A hostile openid-config document whose jwks_uri answers an endless body, fast enough that no
// idle timeout fires. The resolver must stop reading at its size limit, not buffer it all first.
let hostile: LoopbackServer;

beforeAll(async () => {
  hostile = await startLoopbackHttps((req, res) => {
    if (req.url === "/.well-known/openid-configuration") {
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ issuer: "https://issuer.example/", jwks_uri: `${hostile.origin}/endless` }));
      return;
    }
    res.writeHead(200, { "content-type": "application/json" });
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    const pump = () => {
      while (!res.destroyed && res.write(chunk));
      if (!res.destroyed) res.once("drain", pump);
    };
    res.on("close", () => res.removeAllListeners("drain"));
    pump();
  });
});
afterAll(async () => {
  await hostile.close();
});

describe("openid-config resolver against a hostile document", () => {
  it("refuses an endless JWKS body at the size limit instead of buffering it", async () => {
    const resolver = createOpenIdConfigResolver({ dispatcher: createProbeDispatcher({ extraCaPem: [hostile.caPem] }), now: () => 0, timeoutMs: 30_000 });
    const started = performance.now();
    const error = await resolver.resolve(`${hostile.origin}/.well-known/openid-configuration`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenIdConfigError);
    expect((error as OpenIdConfigError).kind).toBe("jwks");
    expect(performance.now() - started).toBeLessThan(4_000);
  }, 8_000);
});
