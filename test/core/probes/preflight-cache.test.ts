import { describe, expect, it } from "vitest";
import { PreflightCache } from "../../../src/core/probes/preflight-cache.js";
import { parsePolicy } from "../../../src/policy/index.js";

const policyXml = (aud: string) =>
  `<validate-jwt header-name="Authorization"><audiences><audience>${aud}</audience></audiences></validate-jwt>`;

describe("PreflightCache", () => {
  it("judges a token once per policy content for a few seconds; other content or later, again", async () => {
    let now = 0;
    const cache = new PreflightCache(() => now);
    let judged = 0;
    const judge = () => {
      judged++;
      return Promise.resolve({ ok: true as const });
    };
    const a1 = parsePolicy(policyXml("a"));
    const a2 = parsePolicy(policyXml("a")); // same content, another object: another target of the estate
    const b = parsePolicy(policyXml("b"));
    await cache.verdict("h.p.sig1", a1, "full", judge);
    await cache.verdict("h.p.sig1", a2, "full", judge);
    expect(judged).toBe(1);
    await cache.verdict("h.p.sig1", b, "full", judge);
    await cache.verdict("h.p.sig2", a1, "full", judge);
    await cache.verdict("h.p.sig1", a1, "without-audience", judge);
    expect(judged).toBe(4);
    now += 6_000;
    await cache.verdict("h.p.sig1", a1, "full", judge);
    expect(judged).toBe(5);
  });
});
