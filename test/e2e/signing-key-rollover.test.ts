import { afterAll, describe, expect, it } from "vitest";
import { createProbeEngine } from "../../src/core/probes/engine.js";
import { loadSettings } from "../../src/core/settings/load-settings.js";
import { SigningKeyWatch } from "../../src/core/tokens/signing-key-watch.js";
import type { OpenIdConfig, SigningKeyResolver } from "../../src/policy/index.js";
import { startSandbox, type Sandbox } from "../../src/sandbox/index.js";

// The tenant's signing key ids are recorded each run; a new one is reported on the token result.

const opened: Sandbox[] = [];
afterAll(async () => {
  await Promise.all(opened.map((s) => s.close()));
});

describe("signing-key rollover", () => {
  it("SigningKeyWatch: nothing the first time, then what was added and removed", async () => {
    let kids = ["a", "b"];
    const resolver: SigningKeyResolver = {
      resolve: () =>
        Promise.resolve({ url: "u", issuer: "i", keys: kids.map((kid) => ({ kid, kty: "RSA" })) } as OpenIdConfig),
    };
    const watch = new SigningKeyWatch("https://login.example/t/v2.0/.well-known/openid-configuration", resolver);
    expect(await watch.observe("a")).toBeUndefined();
    expect(await watch.observe("a")).toBeUndefined();
    kids = ["b", "c"];
    expect(await watch.observe("c")).toEqual({ added: ["c"], removed: ["a"] });
  });

  it("end to end: the sandbox tenant rotates its keys; the next run's token result names the new key", async () => {
    let offset = 0;
    const now = () => Date.now() + offset;
    const sandbox = await startSandbox({ now });
    opened.push(sandbox);
    const { APPLICATIONINSIGHTS_CONNECTION_STRING: _i, ...settings } = sandbox.settings;
    const engine = createProbeEngine(loadSettings(settings), { now });
    try {
      const first = await engine.run({ probes: ["token"] });
      expect(first.results[0]!.diagnosis).toBeUndefined();
      sandbox.entra.rotateSigningKeys();
      // The metadata is cached for an hour (as APIM caches it); the next look after that sees the new set.
      offset += 61 * 60 * 1000;
      const second = await engine.run({ probes: ["token"] });
      expect(second.results[0]).toMatchObject({ outcome: "pass", diagnosis: { cause: "signing-key-rollover" } });
      expect(second.results[0]!.diagnosis!.evidence!.addedKids).not.toBe("none");
    } finally {
      await engine.close();
    }
  });

  it("the signing-key-rollover scenario: a new key published ahead of use is reported, and nothing fails", async () => {
    let offset = 0;
    const now = () => Date.now() + offset;
    const sandbox = await startSandbox({ scenario: "signing-key-rollover", now });
    opened.push(sandbox);
    const { APPLICATIONINSIGHTS_CONNECTION_STRING: _i, ...settings } = sandbox.settings;
    const engine = createProbeEngine(loadSettings(settings), { now });
    try {
      const first = await engine.run({ probes: ["token", "valid", "forged-signature"] });
      expect(first.results.map((r) => r.outcome)).toEqual(["pass", "pass", "pass"]);
      // An hour later Entra has published its next key; the metadata caches (the probe's, APIM's) have expired.
      offset += 61 * 60 * 1000;
      const second = await engine.run({ probes: ["token", "valid", "forged-signature"] });
      expect(second.results.map((r) => r.outcome)).toEqual(["pass", "pass", "pass"]);
      const token = second.results[0]!;
      expect(token.diagnosis).toMatchObject({ cause: "signing-key-rollover" });
      expect(token.diagnosis!.evidence!.addedKids).not.toBe("none");
      // The token is still signed with the key in use: a rollover announced, not yet made.
      expect(token.diagnosis!.evidence!.addedKids).not.toContain(token.token!.kid!);
    } finally {
      await engine.close();
    }
  });
});
