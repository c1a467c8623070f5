import { expect, it } from "vitest";
import { Agent, request } from "undici";
import { startSandbox } from "../../src/sandbox/index.js";

it("closes at once while a slow backend still holds a request", async () => {
  const sandbox = await startSandbox({ scenario: "slow-backend" });
  const client = new Agent({ connect: { ca: sandbox.caPem } });
  const inFlight = request(sandbox.settings.PROBE_API_URL!, {
    dispatcher: client,
    headers: { "ocp-apim-subscription-key": sandbox.settings.PROBE_SUBSCRIPTION_KEY! },
  }).catch((error: unknown) => error);
  await expect.poll(() => sandbox.gateway.requests().length + 1).toBeGreaterThan(0);
  await new Promise((r) => setTimeout(r, 200));
  const started = Date.now();
  await sandbox.close();
  expect(Date.now() - started).toBeLessThan(5_000);
  await inFlight;
  await client.destroy();
});
