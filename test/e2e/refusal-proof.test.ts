import { mkdtemp, rm, writeFile } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { ProbeName } from "../../src/probe-matrix/names.js";
import { loadSettings } from "../../src/core/settings/load-settings.js";
import { independentGatewayPerTest, resultOf, runOnce, sandboxPerTest } from "./support.js";

/** Answers with a JSON body, as APIM and the backends here do. */
function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

/** The gateway's current key: not the one the sandbox's settings give the probe. */
const CURRENT_KEY = "9f2c4e7a1b3d5f6081726354a5b6c7d8";
const KEY_HEADER = "ocp-apim-subscription-key";

/**
 * A gateway written apart from the sandbox with no token validation at all: it checks the
 * subscription key, before anything else as APIM does, and lets in whatever carries its key. Its
 * refusal is APIM's documented one, or (`bodyless`) only APIM's key challenge with a body of its own.
 */
function keyOnlyGateway(refusal: "apim" | "bodyless"): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    req.resume();
    const key = req.headers[KEY_HEADER];
    if (key === CURRENT_KEY) {
      json(res, 200, { orders: [] });
      return;
    }
    const challenge = `AzureApiManagementKey realm="https://contoso-gw.example/shop",name="Ocp-Apim-Subscription-Key",type="header"`;
    if (refusal === "bodyless") {
      res.writeHead(401, { "www-authenticate": challenge, "content-type": "text/plain" });
      res.end("Unauthorized");
      return;
    }
    const message =
      key === undefined
        ? "Access denied due to missing subscription key. Make sure to include subscription key when making requests to an API."
        : "Access denied due to invalid subscription key. Make sure to provide a valid key for an active subscription.";
    res.writeHead(401, { "content-type": "application/json", "www-authenticate": challenge });
    res.end(JSON.stringify({ statusCode: 401, message }));
  };
}

const openSandbox = sandboxPerTest();
const startGateway = independentGatewayPerTest();

/** The token probes that reach the gateway (expired-token has no expired token yet; unassigned-client is refused by Entra). */
const TOKEN_REQUESTS: readonly ProbeName[] = ["no-token", "wrong-audience", "forged-signature", "alg-none"];

async function tokenProbesThrough(refusal: "apim" | "bodyless", env: Record<string, string | undefined>) {
  const sandbox = await openSandbox({ scenario: "healthy" });
  const { settings } = await startGateway(sandbox, keyOnlyGateway(refusal), "/shop/orders");
  return runOnce(loadSettings({ ...settings, ...env }), {}, TOKEN_REQUESTS);
}

describe("a token probe refused by the subscription key check proves nothing about tokens", () => {
  it("the gateway validates no token: with its current key every token probe is security", async () => {
    const report = await tokenProbesThrough("apim", { PROBE_SUBSCRIPTION_KEY: CURRENT_KEY });
    for (const probe of TOKEN_REQUESTS) expect(resultOf(report, probe).outcome, probe).toBe("security");
  });

  it("the same gateway with a regenerated key: each token probe fails naming the key, and the run is not ok", async () => {
    const report = await tokenProbesThrough("apim", {});
    for (const probe of TOKEN_REQUESTS) {
      const result = resultOf(report, probe);
      expect(result, probe).toMatchObject({
        outcome: "fail",
        actualStatus: 401,
        diagnosis: { cause: "invalid-subscription-key" },
      });
      expect(result.message, probe).toMatch(/from the subscription key check, before any token check/);
    }
    expect(report.summary.ok).toBe(false);
  });

  it("no key configured for an API that requires one: missing-subscription-key, not a pass", async () => {
    const report = await tokenProbesThrough("apim", { PROBE_SUBSCRIPTION_KEY: undefined });
    for (const probe of TOKEN_REQUESTS) {
      expect(resultOf(report, probe), probe).toMatchObject({
        outcome: "fail",
        diagnosis: { cause: "missing-subscription-key" },
      });
    }
    expect(report.summary.ok).toBe(false);
  });

  it("custom error handling that keeps only APIM's key challenge: still not a pass", async () => {
    const report = await tokenProbesThrough("bodyless", {});
    for (const probe of TOKEN_REQUESTS) {
      expect(resultOf(report, probe), probe).toMatchObject({
        outcome: "fail",
        diagnosis: { cause: "invalid-subscription-key" },
      });
    }
    expect(report.summary.ok).toBe(false);
  });
});

/**
 * A gateway written apart from the sandbox that checks the key, then an ip-filter policy that
 * forbids the probe's address, in APIM's words, before any token check; past it, anyone gets in.
 */
function ipFilteredGateway(key: string): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    req.resume();
    if (req.headers[KEY_HEADER] !== key) {
      json(res, 401, { statusCode: 401, message: "Access denied due to invalid subscription key." });
      return;
    }
    const message = `Caller IP address ${req.socket.remoteAddress ?? "?"} is not allowed. Access denied.`;
    json(res, 403, { statusCode: 403, message });
  };
}

describe("a refusal by the ip-filter policy proves nothing about the caller's credentials", () => {
  it("unassigned-client (401 or 403 expected) got in with any token: the ip-filter's 403 is no pass, and the run is not ok", async () => {
    // Assignment is not required: the unassigned client gets a token, and the gateway judges it.
    const sandbox = await openSandbox({ scenario: "assignment-not-required" });
    const key = sandbox.settings.PROBE_SUBSCRIPTION_KEY!;
    const { settings } = await startGateway(sandbox, ipFilteredGateway(key), "/shop/orders");
    const report = await runOnce(loadSettings(settings), {}, ["unassigned-client"]);
    const result = resultOf(report, "unassigned-client");
    expect(result).toMatchObject({ outcome: "fail", actualStatus: 403, diagnosis: { cause: "ip-filtered" } });
    expect(result.message).toMatch(/from the ip-filter policy .*nothing is proved about the role check/);
    expect(report.summary.ok).toBe(false);
  });
});

/**
 * A gateway written apart from the sandbox: its one operation takes any caller with the key (no token
 * validation), and any other path gets APIM's own 404, before any API's checks.
 */
function oneOperationGateway(key: string): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    req.resume();
    if (req.url !== "/shop/orders") {
      json(res, 404, { statusCode: 404, message: "Resource not found" });
      return;
    }
    const ok = req.headers[KEY_HEADER] === key;
    res.writeHead(ok ? 201 : 401, { "content-type": "application/json" });
    res.end(
      ok
        ? '{"id":"o-1"}'
        : JSON.stringify({ statusCode: 401, message: "Access denied due to invalid subscription key." }),
    );
  };
}

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

describe("APIM's 404 for a URL no API matches proves nothing, even where a target lists 404 among its refusals", () => {
  it("a write operation probed for refusals only, its path mistyped: each probe fails api-not-found, and the run is not ok", async () => {
    const sandbox = await openSandbox({ scenario: "healthy" });
    const { gateway, settings } = await startGateway(
      sandbox,
      oneOperationGateway(sandbox.settings.PROBE_SUBSCRIPTION_KEY!),
    );
    const probes = ["no-token", "forged-signature", "alg-none"] as const;
    const dir = await mkdtemp(join(tmpdir(), "refusal-proof-"));
    dirs.push(dir);
    const targetsFile = join(dir, "targets.json");
    await writeFile(
      targetsFile,
      JSON.stringify({
        targets: [
          {
            name: "create-order",
            // The operation is /shop/orders: one letter is missing.
            url: `${gateway.origin}/shop/ordrs`,
            method: "POST",
            body: '{"sku":"A-1"}',
            scope: sandbox.settings.PROBE_API_SCOPE,
            subscriptionKeySetting: "ORDERS_KEY",
            // The API hides itself from refused callers with a 404 (validate-jwt's failed-validation-httpcode).
            expectedStatuses: Object.fromEntries(probes.map((p) => [p, [401, 404]])),
            // valid would create an order: only the refusals are probed.
            probes,
          },
        ],
      }),
    );
    const report = await runOnce(
      loadSettings({
        ...settings,
        PROBE_API_URL: undefined,
        PROBE_API_METHOD: undefined,
        PROBE_API_SCOPE: undefined,
        PROBE_SUBSCRIPTION_KEY: undefined,
        ORDERS_KEY: sandbox.settings.PROBE_SUBSCRIPTION_KEY,
        PROBE_TARGETS_FILE: targetsFile,
      }),
    );
    for (const probe of probes) {
      const result = resultOf(report, probe);
      expect(result, probe).toMatchObject({
        outcome: "fail",
        actualStatus: 404,
        diagnosis: { cause: "api-not-found" },
      });
      expect(result.message, probe).toMatch(/no API or operation at the URL/);
    }
    expect(report.summary.ok).toBe(false);
  });
});

/**
 * A gateway written apart from the sandbox, behind which two units answer in turn: the first a 503
 * (recycling), the next lets anyone in (a unit whose policy lost token validation).
 */
function recyclingThenOpenGateway(): (req: IncomingMessage, res: ServerResponse) => void {
  const seen = new Map<string, number>();
  return (req, res) => {
    req.resume();
    // Each probe's request is told apart by what it carries; its first answer is the 503.
    const who = JSON.stringify([req.headers.authorization, req.headers[KEY_HEADER]]);
    const n = (seen.get(who) ?? 0) + 1;
    seen.set(who, n);
    if (n === 1) {
      json(res, 503, { statusCode: 503, message: "Service Unavailable" });
      return;
    }
    json(res, 200, { orders: [] });
  };
}

describe("a retry is never where a security outcome is lost", () => {
  it("first attempt 503, the retry let in: security on the retry's 200, the 503 said beside it", async () => {
    const sandbox = await openSandbox({ scenario: "healthy" });
    const { settings } = await startGateway(sandbox, recyclingThenOpenGateway(), "/shop/orders");
    const report = await runOnce(loadSettings(settings), {}, TOKEN_REQUESTS);
    for (const probe of TOKEN_REQUESTS) {
      const result = resultOf(report, probe);
      expect(result, probe).toMatchObject({ outcome: "security", actualStatus: 200, attempts: 2 });
      expect(result.message, probe).toMatch(/503/);
    }
  });
});

/**
 * A gateway written apart from the sandbox whose token validation reads its own header
 * (validate-jwt header-name="X-Api-Token"): a token in Authorization is never looked at, and is
 * refused with validate-jwt's default message for a token it did not find.
 */
function ownHeaderGateway(key: string): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    req.resume();
    if (req.headers[KEY_HEADER] !== key) {
      json(res, 401, { statusCode: 401, message: "Access denied due to invalid subscription key." });
      return;
    }
    if (req.headers["x-api-token"] === undefined) {
      json(res, 401, { statusCode: 401, message: "JWT not present." });
      return;
    }
    // Whatever is judged here, none of the probe's tokens got this far.
    json(res, 200, { orders: [] });
  };
}

describe("a token that validation did not find was never judged", () => {
  it("validate-jwt reads another header: no-token passes, each probe that sent a token fails missing-bearer-scheme", async () => {
    const sandbox = await openSandbox({ scenario: "healthy" });
    const key = sandbox.settings.PROBE_SUBSCRIPTION_KEY!;
    const { settings } = await startGateway(sandbox, ownHeaderGateway(key), "/shop/orders");
    const report = await runOnce(loadSettings(settings), {}, TOKEN_REQUESTS);
    expect(resultOf(report, "no-token")).toMatchObject({ outcome: "pass", actualStatus: 401 });
    for (const probe of TOKEN_REQUESTS.filter((p) => p !== "no-token")) {
      const result = resultOf(report, probe);
      expect(result, probe).toMatchObject({
        outcome: "fail",
        actualStatus: 401,
        diagnosis: { cause: "missing-bearer-scheme" },
      });
      expect(result.message, probe).toMatch(/JWT not present/);
    }
    expect(report.summary.ok).toBe(false);
  });
});

/**
 * A gateway written apart from the sandbox for an API that requires no subscription: past APIM's key
 * check (which lets a key-less request through), validate-jwt refuses any request without a token.
 */
function keylessGateway(): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    req.resume();
    if (req.headers.authorization === undefined) {
      json(res, 401, { statusCode: 401, message: "JWT not present." });
      return;
    }
    json(res, 200, { orders: [] });
  };
}

describe("a key probe refused by token validation proves nothing about the key", () => {
  it("no scope known, so the key probes send no token: validate-jwt's refusal is subscription-not-required, not a pass", async () => {
    const sandbox = await openSandbox({ scenario: "healthy" });
    const { gateway, settings } = await startGateway(sandbox, keylessGateway(), "/shop/orders");
    const dir = await mkdtemp(join(tmpdir(), "refusal-proof-"));
    dirs.push(dir);
    const targetsFile = join(dir, "targets.json");
    // No scope (an APIOps policy that names no audience): the key probes and a key-only valid run.
    await writeFile(
      targetsFile,
      JSON.stringify({
        targets: [{ name: "orders", url: `${gateway.origin}/shop/orders`, subscriptionKeySetting: "ORDERS_KEY" }],
      }),
    );
    const report = await runOnce(
      loadSettings({
        ...settings,
        PROBE_API_URL: undefined,
        PROBE_API_METHOD: undefined,
        PROBE_API_SCOPE: undefined,
        PROBE_SUBSCRIPTION_KEY: undefined,
        ORDERS_KEY: CURRENT_KEY,
        PROBE_TARGETS_FILE: targetsFile,
      }),
      {},
      ["no-subscription-key", "invalid-subscription-key"],
    );
    for (const probe of ["no-subscription-key", "invalid-subscription-key"] as const) {
      const result = resultOf(report, probe);
      expect(result, probe).toMatchObject({
        outcome: "fail",
        actualStatus: 401,
        diagnosis: { cause: "subscription-not-required" },
      });
      expect(result.message, probe).toMatch(/nothing is proved about the subscription key check/);
    }
    expect(report.summary.ok).toBe(false);
  });
});

describe("a 2xx whose body is APIM's error document is not the API working", () => {
  /**
   * A gateway written apart from the sandbox whose on-error section answers with APIM's error body
   * but no set-status: every call the backend fails comes back 200 `{statusCode: 500, message}`.
   * Its refusals are APIM's, so only `valid` (and what expects a 2xx) is judged on that body.
   */
  function errorIn200Gateway(req: IncomingMessage, res: ServerResponse): void {
    req.resume();
    const key = req.headers[KEY_HEADER];
    const auth = req.headers.authorization;
    if (!key || !auth?.startsWith("Bearer ")) {
      json(res, 401, { statusCode: 401, message: "Access denied." });
      return;
    }
    json(res, 200, { statusCode: 500, message: "Internal server error\u001b[2J" });
  }

  it("valid fails with cause error-document, naming the status and message in the body; a plain JSON 2xx still passes", async () => {
    const sandbox = await openSandbox({ scenario: "healthy" });
    const { settings } = await startGateway(sandbox, errorIn200Gateway, "/shop/orders");
    const report = await runOnce(loadSettings(settings), {}, ["valid", "no-token"]);
    const valid = resultOf(report, "valid");
    expect(valid).toMatchObject({ outcome: "fail", actualStatus: 200, diagnosis: { cause: "error-document" } });
    expect(valid.message).toContain("statusCode 500");
    expect(valid.message).toContain("Internal server error");
    // Remote text is data: the escape sequence arrives escaped.
    expect(valid.message).not.toContain("\u001b");
    expect(valid.diagnosis?.fix).toContain("set-status");
    expect(resultOf(report, "no-token").outcome).toBe("pass");
    expect(report.summary.ok).toBe(false);

    // A backend's own JSON that happens to carry a statusCode is its answer, not APIM's error document.
    const { settings: plain } = await startGateway(
      sandbox,
      (req, res) => {
        req.resume();
        json(res, 200, { statusCode: 500, message: "last import failed", orders: [] });
      },
      "/shop/orders",
    );
    expect(resultOf(await runOnce(loadSettings(plain), {}, ["valid"]), "valid").outcome).toBe("pass");
  });
});
