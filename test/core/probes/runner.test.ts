import type { IncomingMessage, ServerResponse } from "node:http";
import { decodeJwt, decodeProtectedHeader, generateKeyPair, SignJWT } from "jose";
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TokenAcquisitionError, TransportError } from "../../../src/core/errors.js";
import { createProbeDispatcher } from "../../../src/core/http/dispatcher.js";
import type { ProbeName } from "../../../src/probe-matrix/names.js";
import { runProbes } from "../../../src/core/probes/runner.js";
import type { ProbeResult } from "../../../src/core/results/types.js";
import { defaultExpectedStatuses } from "../../../src/core/settings/defaults.js";
import { Secret } from "../../../src/core/settings/secret.js";
import type { ProbeConfig, TargetConfig } from "../../../src/core/settings/types.js";
import { ExpiredTokenStore } from "../../../src/core/tokens/expired-token-store.js";
import type { TokenSource } from "../../../src/core/tokens/token-source.js";
import { closedBeforeAnswer, startLoopbackHttps, type LoopbackServer } from "../http/loopback-https.js";

const KEY = "0123456789abcdef0123456789abcdef";
const API_SCOPE = "api://orders-api/.default";
const tenantKeys = await generateKeyPair("RS256");
const nowS = () => Math.floor(Date.now() / 1000);

async function token(aud: string, expS = nowS() + 3600): Promise<string> {
  return new SignJWT({
    aud,
    azp: "probe",
    ver: "2.0",
    roles: aud === "api://orders-api" ? ["Api.Access"] : undefined,
    // Two tokens issued in the same second differ, as Entra's do (uti).
    uti: randomUUID(),
  })
    .setProtectedHeader({ alg: "RS256", kid: "tenant-kid" })
    .setExpirationTime(expS)
    .sign(tenantKeys.privateKey);
}

/**
 * A gateway with a switchable policy: `strict` checks key, audience, signature kid/alg, exp and
 * role like APIM + validate-jwt would (signature itself is judged by alg + the forged marker);
 * `open` lets everything through (fail-open); `hang` never answers.
 */
let mode: "strict" | "open" | "hang" | "hang-then-deny" | "unavailable-once" | "hung-backend" = "strict";
/**
 * Requests the gateway has seen (hang-then-deny hangs the first, refuses the others;
 * unavailable-once answers the first 503 after calling `onUnavailable`, then is strict).
 */
let seen = 0;
let onUnavailable: () => void = () => undefined;
/** The bearer tokens the gateway was sent, in order. */
const tokensSeen: string[] = [];
/** The gateway's clock, so a test can age tokens for both sides at once. */
let gatewayNow: () => number = Date.now;
/** For each request the `hang` gateway got: whether the client hung up on it before it was answered. */
const hungUp: Promise<boolean>[] = [];
async function gateway(req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (mode === "hang") return void hungUp.push(closedBeforeAnswer(res));
  if (req.headers.authorization) tokensSeen.push(req.headers.authorization);
  if (mode === "unavailable-once" && seen++ === 0) {
    onUnavailable();
    return void res.writeHead(503, { "content-type": "application/json" }).end('{"statusCode":503}');
  }
  if (mode === "hang-then-deny" && seen++ === 0) return;
  if (mode === "hang-then-deny")
    return void res
      .writeHead(401, { "content-type": "application/json" })
      .end(JSON.stringify({ statusCode: 401, message: "Invalid JWT." }));
  const deny = (message: string): void =>
    void res
      .writeHead(401, { "content-type": "application/json", "apim-request-id": "rid-1" })
      .end(JSON.stringify({ statusCode: 401, message }));
  if (mode === "open") return void res.writeHead(200).end("{}");
  const key = req.headers["ocp-apim-subscription-key"];
  if (!key) return deny("Access denied due to missing subscription key.");
  if (key !== KEY) return deny("Access denied due to invalid subscription key.");
  const auth = req.headers.authorization;
  if (!auth?.startsWith("Bearer ")) return deny("JWT not present.");
  const jwt = auth.slice(7);
  try {
    const header = decodeProtectedHeader(jwt);
    const claims = decodeJwt(jwt);
    if (header.alg === "none" || !jwt.split(".")[2]) return deny("Invalid JWT.");
    // Verifies the signature for real with the tenant's public key.
    const { jwtVerify } = await import("jose");
    await jwtVerify(jwt, tenantKeys.publicKey, { audience: "api://orders-api", currentDate: new Date(gatewayNow()) });
    if (!(claims.roles as string[] | undefined)?.includes("Api.Access")) return void res.writeHead(403).end("{}");
  } catch {
    return deny("Invalid JWT.");
  }
  // Past the gateway's checks: a backend that never answers.
  if (mode === "hung-backend") return;
  res.writeHead(200).end("{}");
}

let api: LoopbackServer;
beforeAll(async () => {
  api = await startLoopbackHttps((req, res) => void gateway(req, res));
});
afterAll(() => api.close());

function target(over: Partial<TargetConfig> = {}): TargetConfig {
  return {
    name: "orders",
    url: `${api.origin}/orders/health`,
    method: "GET",
    scope: API_SCOPE,
    subscriptionKeySetting: "PROBE_SUBSCRIPTION_KEY",
    subscriptionKey: new Secret(KEY),
    expectedStatuses: defaultExpectedStatuses(),
    probes: [
      "token",
      "valid",
      "no-subscription-key",
      "invalid-subscription-key",
      "no-token",
      "wrong-audience",
      "expired-token",
      "forged-signature",
      "alg-none",
      "unassigned-client",
    ],
    ...over,
  };
}

function config(over: Partial<ProbeConfig> = {}): ProbeConfig {
  return {
    tenantId: "t",
    authorityHost: "https://login.example",
    clientId: "c",
    credential: { kind: "secret", secret: new Secret("s") },
    wrongAudienceScope: "https://graph.microsoft.com/.default",
    wrongAudienceIsOwnApp: false,
    unassignedClient: { clientId: "u", secret: new Secret("us") },
    timeoutMs: 2_000,
    certWarnDays: 30,
    graphUrl: "https://graph.microsoft.com",
    extraCaPem: [api.caPem],
    targets: [target()],
    ...over,
  };
}

/** Tokens without Entra: the probe's client gets its audiences; the unassigned one gets AADSTS501051 or a role-less token. */
function tokens(
  options: { probeError?: Error; unassigned?: "refused" | "token"; now?: () => number; lifetimeS?: number } = {},
): TokenSource {
  return {
    async acquire(client, scope) {
      if (client === "probe" && options.probeError) throw options.probeError;
      if (client === "unassigned") {
        if ((options.unassigned ?? "refused") === "refused") {
          throw new TokenAcquisitionError("refused", { aadsts: 501051, oauthError: "invalid_grant", status: 400 });
        }
        return {
          accessToken: new Secret(
            await new SignJWT({ aud: "api://orders-api" })
              .setProtectedHeader({ alg: "RS256", kid: "tenant-kid" })
              .setExpirationTime("1h")
              .sign(tenantKeys.privateKey),
          ),
          fromCache: false,
        };
      }
      const issuedS = Math.floor((options.now ?? Date.now)() / 1000);
      const exp = issuedS + (options.lifetimeS ?? 3600);
      return { accessToken: new Secret(await token(scope.replace("/.default", ""), exp)), fromCache: false };
    },
  };
}

const byProbe = (results: ProbeResult[]) =>
  Object.fromEntries(results.map((r) => [r.probe, r])) as Record<ProbeName, ProbeResult>;

describe("runProbes", () => {
  it("a strict gateway: every probe passes, expired-token is skipped until one has aged", async () => {
    mode = "strict";
    const report = await runProbes(config(), {
      dispatcher: createProbeDispatcher({ extraCaPem: [api.caPem] }),
      now: Date.now,
      tokens: tokens(),
    });
    const r = byProbe(report.results);
    expect(r.valid).toMatchObject({ outcome: "pass", actualStatus: 200 });
    for (const p of [
      "no-subscription-key",
      "invalid-subscription-key",
      "no-token",
      "wrong-audience",
      "forged-signature",
      "alg-none",
    ] as const) {
      expect(r[p], p).toMatchObject({ outcome: "pass", actualStatus: 401, requestId: "rid-1" });
    }
    expect(r["no-subscription-key"].apimMessage).toContain("missing subscription key");
    expect(r["unassigned-client"]).toMatchObject({ outcome: "pass", cause: "AADSTS501051" });
    expect(r["unassigned-client"].actualStatus).toBeUndefined();
    expect(r["expired-token"].outcome).toBe("skipped");
    expect(r.token.token).toMatchObject({ aud: "api://orders-api", roles: ["Api.Access"], kid: "tenant-kid" });
    expect(report.summary).toMatchObject({ total: 10, ok: true });
    expect(report.results.map((x) => x.probe)).toEqual(target().probes);
  });

  it("a fail-open gateway: every rejecting probe that got in is security, valid still passes", async () => {
    mode = "open";
    const report = await runProbes(config(), {
      dispatcher: createProbeDispatcher({ extraCaPem: [api.caPem] }),
      now: Date.now,
      tokens: tokens({ unassigned: "token" }),
    });
    const r = byProbe(report.results);
    expect(r.valid.outcome).toBe("pass");
    for (const p of [
      "no-subscription-key",
      "invalid-subscription-key",
      "no-token",
      "wrong-audience",
      "forged-signature",
      "alg-none",
      "unassigned-client",
    ] as const) {
      expect(r[p].outcome, p).toBe("security");
    }
    expect(report.summary.ok).toBe(false);
  });

  it("a role-less token that gets a 403 passes unassigned-client", async () => {
    mode = "strict";
    const report = await runProbes(
      config(),
      {
        dispatcher: createProbeDispatcher({ extraCaPem: [api.caPem] }),
        now: Date.now,
        tokens: tokens({ unassigned: "token" }),
      },
      { probes: ["unassigned-client"] },
    );
    expect(report.results).toHaveLength(1);
    expect(report.results[0]).toMatchObject({ probe: "unassigned-client", outcome: "pass", actualStatus: 403 });
  });

  it("a refused token blocks the token-dependent probes with its AADSTS code and runs the others", async () => {
    mode = "strict";
    const error = new TokenAcquisitionError("refused", { aadsts: 7000215, oauthError: "invalid_client", status: 401 });
    const report = await runProbes(config(), {
      dispatcher: createProbeDispatcher({ extraCaPem: [api.caPem] }),
      now: Date.now,
      tokens: tokens({ probeError: error }),
    });
    const r = byProbe(report.results);
    expect(r.token).toMatchObject({ outcome: "fail", cause: "AADSTS7000215", actualStatus: 401 });
    for (const p of [
      "valid",
      "no-subscription-key",
      "invalid-subscription-key",
      "wrong-audience",
      "forged-signature",
      "alg-none",
    ] as const) {
      expect(r[p], p).toMatchObject({ outcome: "blocked", cause: "AADSTS7000215" });
    }
    expect(r["no-token"].outcome).toBe("pass");
    expect(r["unassigned-client"].outcome).toBe("pass");
  });

  it("a token endpoint that cannot be reached is an error for token, blocked for the rest", async () => {
    const report = await runProbes(
      config(),
      {
        dispatcher: createProbeDispatcher({ extraCaPem: [api.caPem] }),
        now: Date.now,
        tokens: tokens({ probeError: new TransportError("dns", "dns") }),
      },
      { probes: ["token", "valid"] },
    );
    expect(byProbe(report.results).token).toMatchObject({ outcome: "error", cause: "dns" });
    expect(byProbe(report.results).valid).toMatchObject({ outcome: "blocked", cause: "dns" });
  });

  // Without a deadline the requests would run into the budget (cause run-budget), and without that
  // never settle: the suite's test timeout is the hang guard.
  it("a hung API ends at the deadline as error/timeout, within the run budget", async () => {
    mode = "hang";
    hungUp.length = 0;
    const report = await runProbes(
      config({ timeoutMs: 400 }),
      { dispatcher: createProbeDispatcher({ extraCaPem: [api.caPem] }), now: Date.now, tokens: tokens() },
      // A budget far past two attempts at the deadline: ended by the budget would say run-budget.
      { probes: ["valid", "no-token"], runBudgetMs: 20_000 },
    );
    expect(report.results).toHaveLength(2);
    for (const r of report.results) {
      expect(r, r.probe).toMatchObject({ outcome: "error", cause: "timeout", attempts: 2 });
      expect(r.message, r.probe).toContain("no answer within 400 ms");
      // Both attempts waited out the deadline, no less.
      expect(r.durationMs, r.probe).toBeGreaterThanOrEqual(2 * 400);
    }
    // Every attempt was aborted, not abandoned: the gateway saw all four hung up on, unanswered.
    expect(await Promise.all(hungUp)).toEqual([true, true, true, true]);
  });

  it("a retry that fails differently (the first attempt timed out, the retry got 401) keeps the first attempt's cause", async () => {
    mode = "hang-then-deny";
    seen = 0;
    const report = await runProbes(
      config({ timeoutMs: 400 }),
      { dispatcher: createProbeDispatcher({ extraCaPem: [api.caPem] }), now: Date.now, tokens: tokens() },
      { probes: ["valid"], runBudgetMs: 10_000 },
    );
    expect(report.results[0]).toMatchObject({ outcome: "error", cause: "timeout", attempts: 2 });
    expect(report.results[0]!.message).toContain("the retry got 401");
    expect(report.results[0]!.diagnosis?.cause).toBe("timeout");
  });

  /**
   * One probe against a gateway whose first answer is a 503 that comes after the 60 s token's life,
   * on a clock the engine, the token source and the gateway share: only a fresh token can be judged.
   */
  async function retriedAcrossExpiry(probe: ProbeName): Promise<{ result: ProbeResult; clockMs: number }> {
    mode = "unavailable-once";
    seen = 0;
    tokensSeen.length = 0;
    let clock = Date.now();
    gatewayNow = () => clock;
    onUnavailable = () => (clock += 120_000);
    try {
      const report = await runProbes(
        config({ timeoutMs: 2_000 }),
        {
          dispatcher: createProbeDispatcher({ extraCaPem: [api.caPem] }),
          now: () => clock,
          tokens: tokens({ now: () => clock, lifetimeS: 60 }),
        },
        { probes: [probe], runBudgetMs: 600_000 },
      );
      return { result: report.results[0]!, clockMs: clock };
    } finally {
      gatewayNow = Date.now;
      onUnavailable = () => undefined;
    }
  }

  it("a retry whose token expired while the first attempt waited is sent with a fresh token, and passes", async () => {
    const { result, clockMs } = await retriedAcrossExpiry("valid");
    expect(result).toMatchObject({ outcome: "pass", actualStatus: 200, attempts: 2 });
    expect(tokensSeen).toHaveLength(2);
    expect(tokensSeen[1]).not.toBe(tokensSeen[0]);
    expect(result.token!.exp! * 1000).toBeGreaterThan(clockMs);
  });

  it("a retry of a derived token (a forgery) is made from a fresh token too", async () => {
    const { result, clockMs } = await retriedAcrossExpiry("forged-signature");
    expect(result).toMatchObject({ outcome: "pass", actualStatus: 401, attempts: 2 });
    const exps = tokensSeen.map((h) => decodeJwt(h.slice("Bearer ".length)).exp!);
    expect(exps).toHaveLength(2);
    // Refused for its signature, not for having expired: the retried forgery is of a live token.
    expect(exps[1]! * 1000).toBeGreaterThan(clockMs);
  });

  it("expired-token is retried with the same expired token: it is expired on purpose", async () => {
    mode = "unavailable-once";
    seen = 0;
    tokensSeen.length = 0;
    const expired = await token("api://orders-api", nowS() - 600);
    const report = await runProbes(
      config({ expiredToken: new Secret(expired) }),
      {
        dispatcher: createProbeDispatcher({ extraCaPem: [api.caPem] }),
        now: Date.now,
        tokens: tokens(),
        expiredTokens: new ExpiredTokenStore({ now: Date.now }),
      },
      { probes: ["expired-token"], runBudgetMs: 60_000 },
    );
    expect(report.results[0]).toMatchObject({ outcome: "pass", actualStatus: 401, attempts: 2 });
    expect(tokensSeen).toEqual([`Bearer ${expired}`, `Bearer ${expired}`]);
  });

  it("a hung backend does not starve the refusals of the targets queued behind it", async () => {
    mode = "hung-backend";
    const names = ["t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8"];
    const probes: ProbeName[] = ["valid", "no-token", "no-subscription-key", "alg-none"];
    const report = await runProbes(
      config({ timeoutMs: 3_000, targets: names.map((name) => target({ name, probes })) }),
      { dispatcher: createProbeDispatcher({ extraCaPem: [api.caPem] }), now: Date.now, tokens: tokens() },
      // Two targets at a time, and a budget that covers fewer than two backend timeouts: waiting
      // for each target's valid probe before the next target would never reach t5..t8.
      { targetConcurrency: 2, runBudgetMs: 5_000 },
    );
    for (const r of report.results.filter((x) => x.probe !== "valid")) {
      expect(r, `${r.target} ${r.probe}`).toMatchObject({ outcome: "pass", actualStatus: 401 });
    }
    for (const r of report.results.filter((x) => x.probe === "valid")) {
      expect(r.outcome, r.target).toBe("error");
      expect(["timeout", "run-budget"], r.target).toContain(r.cause);
    }
  });

  it("the run budget cuts every request still in flight: cause run-budget, not the API's timeout", async () => {
    mode = "hang";
    hungUp.length = 0;
    const report = await runProbes(
      config({ timeoutMs: 10_000 }),
      { dispatcher: createProbeDispatcher({ extraCaPem: [api.caPem] }), now: Date.now, tokens: tokens() },
      { probes: ["valid"], runBudgetMs: 300 },
    );
    expect(report.results[0]).toMatchObject({ outcome: "error", cause: "run-budget" });
    // Cut by the budget's abort, which settled the request: not the watchdog answering for a request
    // that ignored the abort (and would have run on to its own 10 s deadline).
    expect(report.results[0]!.message).toContain("the run budget was exhausted");
    expect(report.results[0]!.message).not.toContain("did not settle");
    expect(report.results[0]!.attempts).toBeUndefined();
    // The gateway saw the one request hung up on, unanswered: the budget aborted it.
    expect(await Promise.all(hungUp)).toEqual([true]);
    expect(report.results[0]!.diagnosis?.cause).toBe("run-budget");
    expect(report.results[0]!.diagnosis?.fix).toContain("PROBE_RUN_BUDGET_MS");
  });

  it("uses a harvested token once it has aged past exp + margin, then PROBE_EXPIRED_TOKEN as fallback", async () => {
    mode = "strict";
    let clock = Date.now();
    const store = new ExpiredTokenStore({ now: () => clock, marginMs: 60_000 });
    gatewayNow = () => clock;
    const deps = {
      dispatcher: createProbeDispatcher({ extraCaPem: [api.caPem] }),
      now: () => clock,
      tokens: tokens(),
      expiredTokens: store,
    };
    const first = await runProbes(config(), deps, { probes: ["valid", "expired-token"] });
    expect(byProbe(first.results)["expired-token"].outcome).toBe("skipped");
    clock += 3600_000 + 61_000;
    const second = await runProbes(config(), deps, { probes: ["expired-token"] });
    expect(second.results[0]).toMatchObject({ outcome: "pass", actualStatus: 401 });
    expect(second.results[0]!.message).toContain("acquired earlier");

    gatewayNow = Date.now;
    const supplied = await runProbes(
      config({ expiredToken: new Secret(await token("api://orders-api", nowS() - 600)) }),
      { ...deps, now: Date.now, expiredTokens: new ExpiredTokenStore({ now: Date.now }) },
      { probes: ["expired-token"] },
    );
    expect(supplied.results[0]).toMatchObject({ outcome: "pass", actualStatus: 401 });
    expect(supplied.results[0]!.message).toContain("PROBE_EXPIRED_TOKEN");
  });

  it("skips the key probes without a key and unassigned-client without its client", async () => {
    mode = "strict";
    const cfg = config({
      unassignedClient: undefined,
      targets: [target({ subscriptionKey: undefined, subscriptionKeySetting: undefined })],
    });
    delete cfg.unassignedClient;
    const report = await runProbes(
      cfg,
      { dispatcher: createProbeDispatcher({ extraCaPem: [api.caPem] }), now: Date.now, tokens: tokens() },
      { probes: ["no-subscription-key", "invalid-subscription-key", "unassigned-client"] },
    );
    for (const r of report.results) expect(r.outcome).toBe("skipped");
  });

  it("refuses an unknown --target name", async () => {
    await expect(
      runProbes(
        config(),
        { dispatcher: createProbeDispatcher(), now: Date.now, tokens: tokens() },
        { targets: ["nope"] },
      ),
    ).rejects.toMatchObject({ code: "APIM_SMOKE_USAGE" });
  });

  it("attaches an injected diagnosis and reports progress", async () => {
    mode = "strict";
    const seen: number[] = [];
    const report = await runProbes(
      config(),
      {
        dispatcher: createProbeDispatcher({ extraCaPem: [api.caPem] }),
        now: Date.now,
        tokens: tokens(),
        diagnose: (r) => (r.probe === "no-token" ? { cause: "test-cause", summary: "s", fix: "f" } : undefined),
        onProgress: (e) => seen.push(e.done),
      },
      { probes: ["no-token", "valid"] },
    );
    expect(byProbe(report.results)["no-token"].diagnosis?.cause).toBe("test-cause");
    expect(byProbe(report.results).valid.diagnosis).toBeUndefined();
    expect(seen).toEqual([0, 1, 2]); // "start" with the total, then one per result
  });
});
