import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OpenIdConfigError } from "../../src/core/errors.js";
import { createOpenIdConfigResolver, METADATA_TTL_MS, REFETCH_INTERVAL_MS } from "../../src/policy/index.js";
import { SANDBOX_TENANT_ID } from "../../src/sandbox/identities.js";
import {
  createSigningKey,
  startOpenIdTestServer,
  V1_ISSUER,
  V1_OPENID_URL,
  V2_ISSUER,
  V2_OPENID_URL,
  type OpenIdTestServer,
  type SigningKey,
} from "./helpers/issuer.js";

const V2_DOC = `/${SANDBOX_TENANT_ID}/v2.0/.well-known/openid-configuration`;
const V2_KEYS = `/${SANDBOX_TENANT_ID}/discovery/v2.0/keys`;

let server: OpenIdTestServer;
let first: SigningKey;
let second: SigningKey;

beforeAll(async () => {
  [first, second] = await Promise.all([createSigningKey("kid-1"), createSigningKey("kid-2")]);
  server = await startOpenIdTestServer([first.publicJwk]);
});
afterAll(async () => {
  await server.close();
});

/** Each test gets a fresh resolver and clock; the server's hit counters are read as deltas. */
function setup() {
  const clock = { now: Date.UTC(2026, 0, 15) };
  const resolver = createOpenIdConfigResolver({
    dispatcher: server.dispatcher,
    now: () => clock.now,
    rewriteUrl: server.rewriteUrl,
  });
  const base = { doc: server.hits(V2_DOC), keys: server.hits(V2_KEYS) };
  const fetched = () => ({ doc: server.hits(V2_DOC) - base.doc, keys: server.hits(V2_KEYS) - base.keys });
  return { clock, resolver, fetched };
}

describe("createOpenIdConfigResolver", () => {
  it("yields the document's issuer and keys, v2 and v1", async () => {
    server.setKeys([first.publicJwk]);
    const { resolver } = setup();
    const v2 = await resolver.resolve(V2_OPENID_URL);
    expect(v2).toMatchObject({ url: V2_OPENID_URL, issuer: V2_ISSUER });
    expect(v2.keys.map((key) => key.kid)).toEqual(["kid-1"]);
    expect((await resolver.resolve(V1_OPENID_URL)).issuer).toBe(V1_ISSUER);
  });

  it("caches for an hour, then refetches", async () => {
    server.setKeys([first.publicJwk]);
    const { clock, resolver, fetched } = setup();
    await resolver.resolve(V2_OPENID_URL);
    clock.now += METADATA_TTL_MS - 1;
    await resolver.resolve(V2_OPENID_URL);
    expect(fetched()).toEqual({ doc: 1, keys: 1 });
    clock.now += 1;
    await resolver.resolve(V2_OPENID_URL);
    expect(fetched()).toEqual({ doc: 2, keys: 2 });
  });

  it("shares one fetch between concurrent callers", async () => {
    const { resolver, fetched } = setup();
    await Promise.all([
      resolver.resolve(V2_OPENID_URL),
      resolver.resolve(V2_OPENID_URL),
      resolver.resolve(V2_OPENID_URL),
    ]);
    expect(fetched()).toEqual({ doc: 1, keys: 1 });
  });

  it("refetches on an unknown kid at most every 5 minutes, and finds a rotated key", async () => {
    server.setKeys([first.publicJwk]);
    const { clock, resolver, fetched } = setup();
    await resolver.resolve(V2_OPENID_URL);
    server.setKeys([first.publicJwk, second.publicJwk]);

    clock.now += REFETCH_INTERVAL_MS - 1;
    const tooSoon = await resolver.resolve(V2_OPENID_URL, { kid: "kid-2" });
    expect(tooSoon.keys.map((key) => key.kid)).toEqual(["kid-1"]);
    expect(fetched().doc).toBe(1);

    clock.now += 1;
    const rotated = await resolver.resolve(V2_OPENID_URL, { kid: "kid-2" });
    expect(rotated.keys.map((key) => key.kid)).toEqual(["kid-1", "kid-2"]);
    expect(fetched().doc).toBe(2);

    // A kid nobody publishes does not turn into a fetch per request.
    await resolver.resolve(V2_OPENID_URL, { kid: "never" });
    await resolver.resolve(V2_OPENID_URL, { kid: "never" });
    expect(fetched().doc).toBe(2);
    // A known kid never refetches.
    clock.now += REFETCH_INTERVAL_MS;
    await resolver.resolve(V2_OPENID_URL, { kid: "kid-1" });
    expect(fetched().doc).toBe(2);
  });

  it("fails with OpenIdConfigError on a 404 and retries only after 5 minutes", async () => {
    const { clock, resolver } = setup();
    const url = "https://login.microsoftonline.com/missing/v2.0/.well-known/openid-configuration";
    const error = await resolver.resolve(url).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenIdConfigError);
    expect(error).toMatchObject({ code: "APIM_SMOKE_OPENID_CONFIG", kind: "status", url });
    const before = server.hits("/missing/v2.0/.well-known/openid-configuration");
    await expect(resolver.resolve(url)).rejects.toBeInstanceOf(OpenIdConfigError);
    expect(server.hits("/missing/v2.0/.well-known/openid-configuration")).toBe(before);
    clock.now += REFETCH_INTERVAL_MS;
    await expect(resolver.resolve(url)).rejects.toBeInstanceOf(OpenIdConfigError);
    expect(server.hits("/missing/v2.0/.well-known/openid-configuration")).toBe(before + 1);
  });

  it("keeps serving the stale document when a refresh fails", async () => {
    server.setKeys([first.publicJwk]);
    const clock = { now: 0 };
    let broken = false;
    const resolver = createOpenIdConfigResolver({
      dispatcher: server.dispatcher,
      now: () => clock.now,
      rewriteUrl: (url) => (broken ? new URL("/gone", server.origin) : server.rewriteUrl(url)),
    });
    await resolver.resolve(V2_OPENID_URL);
    broken = true;
    clock.now += METADATA_TTL_MS;
    expect((await resolver.resolve(V2_OPENID_URL)).keys.map((key) => key.kid)).toEqual(["kid-1"]);
  });

  it("refuses to fetch over http", async () => {
    const resolver = createOpenIdConfigResolver({
      dispatcher: server.dispatcher,
      now: () => 0,
      rewriteUrl: (url) => new URL(url.pathname, "http://127.0.0.1:9"),
    });
    await expect(resolver.resolve(V2_OPENID_URL)).rejects.toMatchObject({
      code: "APIM_SMOKE_OPENID_CONFIG",
      kind: "refused",
    });
  });

  it("names the TLS failure as a transport error when the server is not trusted", async () => {
    const { Agent } = await import("undici");
    const untrusting = new Agent();
    try {
      const resolver = createOpenIdConfigResolver({
        dispatcher: untrusting,
        now: () => 0,
        rewriteUrl: server.rewriteUrl,
      });
      await expect(resolver.resolve(V2_OPENID_URL)).rejects.toMatchObject({
        code: "APIM_SMOKE_OPENID_CONFIG",
        kind: "transport",
      });
    } finally {
      await untrusting.close();
    }
  });
});
