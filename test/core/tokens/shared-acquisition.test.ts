import { describe, expect, it } from "vitest";
import { TokenAcquisitionError, TransportError } from "../../../src/core/errors.js";
import { Secret } from "../../../src/core/settings/secret.js";
import { REFUSAL_MEMORY_MS, withSharedAcquisition } from "../../../src/core/tokens/shared-acquisition.js";
import type { TokenSource } from "../../../src/core/tokens/token-source.js";

function countingSource(answer: () => Promise<"token" | Error>): TokenSource & { calls: number } {
  const source = {
    calls: 0,
    async acquire() {
      source.calls++;
      const outcome = await answer();
      if (outcome instanceof Error) throw outcome;
      return { accessToken: new Secret("t"), fromCache: false };
    },
  };
  return source;
}

const notAssigned = () =>
  new TokenAcquisitionError("refused", { aadsts: 501051, oauthError: "invalid_grant", status: 400 });

describe("withSharedAcquisition", () => {
  it("shares one request among concurrent callers for the same client and scope", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const source = countingSource(async () => (await gate, "token"));
    const shared = withSharedAcquisition(source, { now: () => 0 });
    const all = Promise.all([
      ...[1, 2, 3].map(() => shared.acquire("probe", "api://a/.default")),
      shared.acquire("probe", "api://b/.default"),
    ]);
    release();
    await all;
    expect(source.calls).toBe(2);
  });

  it("remembers a definitive refusal until it ages, then asks again", async () => {
    let clock = 0;
    const source = countingSource(() => Promise.resolve(notAssigned()));
    const shared = withSharedAcquisition(source, { now: () => clock });
    for (let i = 0; i < 5; i++)
      await expect(shared.acquire("unassigned", "api://a/.default")).rejects.toMatchObject({
        details: { aadsts: 501051 },
      });
    expect(source.calls).toBe(1);
    clock += REFUSAL_MEMORY_MS;
    await expect(shared.acquire("unassigned", "api://a/.default")).rejects.toBeInstanceOf(TokenAcquisitionError);
    expect(source.calls).toBe(2);
  });

  it("never remembers throttling or a transport failure", async () => {
    const answers: Error[] = [
      new TokenAcquisitionError("throttled", { status: 429, retryAfterSeconds: 60 }),
      new TransportError("timeout", "timeout"),
      new TokenAcquisitionError("no code", { status: 500 }),
    ];
    const source = countingSource(() => Promise.resolve(answers.shift() ?? "token"));
    const shared = withSharedAcquisition(source, { now: () => 0 });
    for (let i = 0; i < 3; i++) await expect(shared.acquire("probe", "s")).rejects.toBeInstanceOf(Error);
    await expect(shared.acquire("probe", "s")).resolves.toMatchObject({ fromCache: false });
    expect(source.calls).toBe(4);
  });
});
