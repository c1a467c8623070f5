import { describe, expect, it } from "vitest";
import { settleWithin } from "../../../src/core/probes/watchdog.js";

describe("settleWithin", () => {
  it("answers for work that never settles, once the budget is aborted and the grace is over", async () => {
    const budget = new AbortController();
    const pending = settleWithin(new Promise<string>(() => undefined), budget.signal, 10, () => "watchdog");
    budget.abort();
    await expect(pending).resolves.toBe("watchdog");
  });

  it("passes through what settles, and an already aborted budget still gives the grace", async () => {
    const budget = new AbortController();
    budget.abort();
    await expect(settleWithin(Promise.resolve("work"), budget.signal, 1_000, () => "watchdog")).resolves.toBe("work");
    await expect(
      settleWithin(Promise.reject(new Error("boom")), new AbortController().signal, 10, () => "watchdog"),
    ).rejects.toThrow("boom");
  });
});
