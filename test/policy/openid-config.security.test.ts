import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OpenIdConfigError } from "../../src/core/errors.js";
import { createProbeDispatcher } from "../../src/core/http/dispatcher.js";
import { createOpenIdConfigResolver } from "../../src/policy/index.js";
import { startLoopbackHttps, type LoopbackServer } from "../core/http/loopback-https.js";

// A hostile openid-config document whose jwks_uri answers an endless body, fast enough that no
// idle timeout fires. The resolver must stop reading at its size limit, not buffer it all first.
let hostile: LoopbackServer;
/** Bytes of the endless body the server has written. */
let endlessSent = 0;
/** The resolver's bound on a document it reads (1 MB). */
const BODY_LIMIT_BYTES = 1_000_000;

beforeAll(async () => {
  hostile = await startLoopbackHttps((req, res) => {
    if (req.url === "/.well-known/openid-configuration") {
      res
        .writeHead(200, { "content-type": "application/json" })
        .end(JSON.stringify({ issuer: "https://issuer.example/", jwks_uri: `${hostile.origin}/endless` }));
      return;
    }
    res.writeHead(200, { "content-type": "application/json" });
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    const pump = () => {
      while (!res.destroyed) {
        endlessSent += chunk.length;
        if (!res.write(chunk)) break;
      }
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
    const resolver = createOpenIdConfigResolver({
      dispatcher: createProbeDispatcher({ extraCaPem: [hostile.caPem] }),
      now: () => 0,
      timeoutMs: 30_000,
    });
    const error = await resolver.resolve(`${hostile.origin}/.well-known/openid-configuration`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenIdConfigError);
    expect((error as OpenIdConfigError).kind).toBe("jwks");
    // Measured in bytes, not seconds: the server could not push much more than the bound before the
    // client hung up (socket buffers aside); a resolver that buffered on would have taken it all.
    expect(endlessSent).toBeGreaterThan(BODY_LIMIT_BYTES);
    expect(endlessSent).toBeLessThan(BODY_LIMIT_BYTES * 16);
  }, 8_000);
});
