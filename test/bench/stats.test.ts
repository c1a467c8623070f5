import { describe, expect, it } from "vitest";
import { idealWallMs, median, percentile } from "../../bench/stats.js";
import { minimumTokenRequests } from "../../bench/tokens-minimum.js";

describe("percentile (nearest rank)", () => {
  const hundred = Array.from({ length: 100 }, (_, i) => 100 - i); // 100..1, unsorted on purpose

  it("p99 of 1..100 is 99 and p100 the largest", () => {
    expect(percentile(hundred, 99)).toBe(99);
    expect(percentile(hundred, 100)).toBe(100);
  });

  it("p50 of 1..100 is 50 and never interpolates", () => {
    expect(percentile(hundred, 50)).toBe(50);
    expect(percentile([1, 10], 50)).toBe(1);
  });

  it("with few samples p99 is the largest, and a tiny p the smallest", () => {
    expect(percentile([3, 1, 2], 99)).toBe(3);
    expect(percentile([3, 1, 2], 0.001)).toBe(1);
  });

  it("rejects no samples and p outside (0, 100]", () => {
    expect(() => percentile([], 50)).toThrow(RangeError);
    expect(() => percentile([1], 0)).toThrow(RangeError);
    expect(() => percentile([1], 101)).toThrow(RangeError);
  });

  it("does not reorder the caller's array", () => {
    const samples = [3, 1, 2];
    percentile(samples, 50);
    expect(samples).toEqual([3, 1, 2]);
  });
});

describe("median", () => {
  it("is the middle sample for an odd count and the mean of the middle two for an even count", () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it("rejects no samples", () => {
    expect(() => median([])).toThrow(RangeError);
  });
});

describe("idealWallMs", () => {
  it("is ceil(requests / concurrency) waves of the latency", () => {
    expect(idealWallMs(3500, 112, 200)).toBe(32 * 200);
    expect(idealWallMs(7, 7, 200)).toBe(200);
    expect(idealWallMs(8, 7, 200)).toBe(400);
  });

  it("rejects a concurrency below 1", () => {
    expect(() => idealWallMs(10, 0, 200)).toThrow(RangeError);
  });
});

describe("minimumTokenRequests", () => {
  const base = {
    wrongAudienceScope: "https://graph.microsoft.com/.default",
    elapsedMs: 60_000,
    tokenLifetimeMs: 3_900_000,
  };

  it("counts one per client and scope: probe x (target scopes + wrong audience), unassigned x target scopes", () => {
    expect(
      minimumTokenRequests({ ...base, targetScopes: ["api://a/.default", "api://a/.default"], unassignedClient: true }),
    ).toBe(3);
    expect(
      minimumTokenRequests({ ...base, targetScopes: ["api://a/.default", "api://b/.default"], unassignedClient: true }),
    ).toBe(5);
    expect(minimumTokenRequests({ ...base, targetScopes: ["api://a/.default"], unassignedClient: false })).toBe(2);
  });

  it("adds the probe client's Graph token when credential-expiry reads secrets there", () => {
    expect(
      minimumTokenRequests({
        ...base,
        wrongAudienceScope: "probe-app/.default",
        targetScopes: ["api://a/.default"],
        unassignedClient: true,
        graphScope: "https://graph.microsoft.com/.default",
      }),
    ).toBe(4);
    // The same scope as the wrong-audience one counts once.
    expect(
      minimumTokenRequests({
        ...base,
        targetScopes: ["api://a/.default"],
        unassignedClient: false,
        graphScope: base.wrongAudienceScope,
      }),
    ).toBe(2);
  });

  it("multiplies by the token lifetimes the bench spans", () => {
    expect(
      minimumTokenRequests({
        ...base,
        targetScopes: ["api://a/.default"],
        unassignedClient: true,
        elapsedMs: 3_900_001,
      }),
    ).toBe(6);
  });
});
