import type { ServerResponse } from "node:http";
import { describe, expect, it } from "vitest";
import { REJECTING_PROBES, type ProbeName } from "../../src/probe-matrix/names.js";
import { loadSettings } from "../../src/core/settings/load-settings.js";
import { independentGatewayPerTest, runOnce, sandboxPerTest } from "./support.js";

/**
 * A gateway written apart from the sandbox (its own host, certificate and bodies) that lets every
 * request in: the status line says 200 at once, and then the body misbehaves. The verdict is the
 * status's, so every rejecting probe must read `security` after exactly one request.
 */
type BodyFault = "trickle" | "hang" | "reset";

function failOpen(fault: BodyFault): (res: ServerResponse) => void {
  return (res) => {
    res.writeHead(200, { "content-type": "application/json", "content-length": "4096" });
    res.write('{"orders":[');
    if (fault === "reset") {
      setTimeout(() => res.socket?.destroy(), 50);
      return;
    }
    if (fault === "trickle") {
      // One byte every 400 ms: it would take far longer than the probe's timeout to finish.
      const timer = setInterval(() => {
        if (res.destroyed || res.writableEnded) clearInterval(timer);
        else res.write(" ");
      }, 400);
      res.on("close", () => clearInterval(timer));
    }
    // "hang": nothing more, ever.
  };
}

const openSandbox = sandboxPerTest();
const startGateway = independentGatewayPerTest();

// The requests that need the gateway: `unassigned-client` is refused by Entra, `expired-token` has none yet.
const SENT: readonly ProbeName[] = REJECTING_PROBES.filter((p) => p !== "unassigned-client" && p !== "expired-token");

describe("a fail-open gateway whose 2xx bodies misbehave", () => {
  for (const fault of ["trickle", "hang", "reset"] as const) {
    it(`${fault}: every rejecting probe is security, after exactly one request, with the body problem noted`, async () => {
      const sandbox = await openSandbox({ scenario: "healthy" });
      const handler = failOpen(fault);
      const { gateway, settings } = await startGateway(sandbox, (req, res) => {
        req.resume();
        handler(res);
      });
      const config = loadSettings({ ...settings, PROBE_TIMEOUT_MS: "3000" });
      const report = await runOnce(config, {}, REJECTING_PROBES);
      for (const probe of SENT) {
        const result = report.results.find((r) => r.probe === probe)!;
        expect(result, probe).toMatchObject({ outcome: "security", actualStatus: 200 });
        expect(result.attempts, probe).toBeUndefined();
        expect(result.message, probe).toMatch(/body/);
      }
      // One request per probe that reached the gateway: nothing was retried.
      expect(gateway.requests).toHaveLength(SENT.length);
    });
  }
});

describe("sandbox scenario fail-open-slow-body", () => {
  it("decides security on the status line through the sandbox's own gateway, one request each", async () => {
    const sandbox = await openSandbox({ scenario: "fail-open-slow-body" });
    const report = await runOnce(loadSettings({ ...sandbox.settings }), {}, ["token", "valid", ...REJECTING_PROBES]);
    const sent = ["no-token", "forged-signature", "alg-none"] as const;
    for (const probe of sent) {
      const result = report.results.find((r) => r.probe === probe)!;
      expect(result, probe).toMatchObject({ outcome: "security", actualStatus: 200 });
      expect(result.attempts, probe).toBeUndefined();
    }
    // valid needs its body, which never completes in time: a plain timeout, not a verdict.
    expect(report.results.find((r) => r.probe === "valid")).toMatchObject({ outcome: "error", cause: "timeout" });
  });
});
