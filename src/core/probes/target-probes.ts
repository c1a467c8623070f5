import { randomBytes } from "node:crypto";
import { observationFromResult, observeError, type ProbeObservation } from "../diagnosis/observation.js";
import { ProbeError, TokenAcquisitionError, TransportError } from "../errors.js";
import { sendProbeRequest, type HttpDeps, type ProbeResponse } from "../http/probe-request.js";
import type { Outcome, ProbeResult, TokenSummary } from "../results/types.js";
import type { ProbeConfig, TargetConfig } from "../settings/types.js";
import type { ExpiredTokenStore } from "../tokens/expired-token-store.js";
import { algNoneToken, forgeSignature } from "../tokens/forged.js";
import { expiresAtMs, summarizeToken } from "../tokens/summary.js";
import { tokenExchangeScope, type AcquiredToken, type ClientRole, type TokenSource } from "../tokens/token-source.js";
import { roundMs } from "../results/json.js";
import { causeOf, errorResult, observe, skipped, type Observed, type ProbePartial } from "./probe-partial.js";
import { checkAssertions, errorDocumentFailure, type ResponseAssertions } from "./assertions.js";
import { audienceIsolation } from "./audience-isolation.js";
import { classifyStatus, formatStatuses, isSuccess } from "./classify.js";
import {
  EXPIRY_PROBES,
  KEY_PROBES,
  REJECTING_PROBES,
  SENDS_TOKEN,
  TOKEN_PROBES,
  type ProbeName,
} from "../../probe-matrix/names.js";
import {
  apiNotFoundRefusal,
  ipFilterRefusal,
  subscriptionKeyRefusal,
  tokenNotFoundRefusal,
} from "../diagnosis/diagnose.js";
import { credentialExpiry, graphScope, tlsCertificate, type ForecastCarriers } from "./forecasts.js";
import type { PresentedCertificates } from "../http/presented-certificates.js";
import type { PolicyChecks } from "./target-policy.js";
import type { LimitFunction } from "p-limit";

/** AADSTS501051: the client has no role on a resource that requires assignment (docs/REFERENCE.md §2). */
export const AADSTS_NOT_ASSIGNED = 501051;

export interface TargetRunContext {
  config: ProbeConfig;
  target: TargetConfig;
  probes: readonly ProbeName[];
  http: HttpDeps;
  tokens: TokenSource;
  expiredTokens: ExpiredTokenStore;
  /** How long past `exp` a harvested token must be before it is sent: the policy's clock-skew plus ours. */
  expiredTokenMarginMs: number;
  now: () => number;
  signal: AbortSignal;
  /** When the run's budget ends (ms, on `now`'s clock): a transient failure is retried only if a whole request still fits. */
  deadlineMs: number;
  /** The header the API takes its subscription key in (APIM's default unless the API renames it). */
  keyHeader: string;
  /** Present when the target names its APIM policy: preflight of the API token, published kids. */
  policy?: PolicyChecks;
  /** When the run began (ms): a certificate seen since then was seen by this run. */
  runStartedMs: number;
  /** The certificates this run's connections were shown (absent with a dispatcher of the caller's own). */
  certificates?: PresentedCertificates;
  /** Which targets carry this target's forecasts (each is made once per gateway, once per run). */
  forecasts: ForecastCarriers;
  /** Where this target's probes wait for their turn (shared by every target of the run). */
  lanes: ProbeLanes;
}

/**
 * The run's two queues, each as wide as the target concurrency. A request the gateway should refuse
 * on its own (no key, a forged token...) never waits behind one that waits on a slow backend: a hung
 * backend costs the `valid` probes their time, not the refusals of the targets queued after it.
 */
export interface ProbeLanes {
  /** Token requests and the requests the gateway decides alone, one target at a time per slot. */
  gateway: LimitFunction;
  /** The requests expected to reach the backend (an expected 2xx, or a target open by design). */
  backend: LimitFunction;
}

/** Who asked for a token and for what: evidence of a token failure (never the credential). */
type TokenRequestFacts = Pick<
  ProbeObservation,
  "clientId" | "scope" | "tenant" | "secretSetting" | "authorityHost" | "federatedAudience"
>;

type Attempt =
  | { ok: true; token: AcquiredToken; durationMs: number }
  | { ok: false; error: ProbeError; durationMs: number; facts: TokenRequestFacts };

/** A probe's result and everything observed while producing it, for the diagnosis. */
export interface ProbedResult {
  result: ProbeResult;
  observation: ProbeObservation;
}

/**
 * Runs the selected probes of one target concurrently, the ones that wait on the backend in the
 * backend lane and the rest in the gateway lane. The API token is acquired once and shared.
 */
export async function runTargetProbes(ctx: TargetRunContext): Promise<ProbedResult[]> {
  const memo = new Map<string, Promise<Attempt>>();
  const acquire = (client: ClientRole, scope: string): Promise<Attempt> => {
    const key = `${client} ${scope}`;
    let attempt = memo.get(key);
    if (!attempt) {
      attempt = timedAcquire(ctx, client, scope);
      memo.set(key, attempt);
    }
    return attempt;
  };
  const apiToken = async (): Promise<Attempt> => {
    const scope = apiScope(ctx);
    const attempt = await acquire("probe", scope);
    if (attempt.ok) ctx.expiredTokens.remember(scope, attempt.token.accessToken);
    return attempt;
  };
  const run = (probe: ProbeName): Promise<ProbedResult> => runProbe(ctx, probe, apiToken, acquire);
  const forwarded = ctx.probes.filter((p) => waitsOnBackend(ctx.target, p));
  const decided = ctx.probes.filter((p) => !forwarded.includes(p) && p !== "tls-certificate");
  const [atGateway, atBackend] = await Promise.all([
    ctx.lanes.gateway(async () => {
      const first = await Promise.all(decided.map(run));
      // tls-certificate after the others: it reads the handshake they made.
      return ctx.probes.includes("tls-certificate") ? [...first, await run("tls-certificate")] : first;
    }),
    forwarded.length === 0 ? [] : ctx.lanes.backend(() => Promise.all(forwarded.map(run))),
  ]);
  // In the order the target lists them.
  const byProbe = new Map([...atGateway, ...atBackend].map((p) => [p.result.probe, p]));
  return ctx.probes.map((p) => byProbe.get(p)!);
}

/**
 * Whether a probe's answer has to come from the backend: it is expected in (a 2xx), or the target is
 * open by design so every request is let in. The rest are answered by the gateway's own policy.
 */
function waitsOnBackend(target: TargetConfig, probe: ProbeName): boolean {
  // The token request and the forecasts send nothing to the API.
  if (probe === "token" || EXPIRY_PROBES.includes(probe)) return false;
  return target.acceptOpen !== undefined || target.expectedStatuses[probe].some(isSuccess);
}

async function timedAcquire(ctx: TargetRunContext, client: ClientRole, scope: string): Promise<Attempt> {
  const started = ctx.now();
  try {
    const token = await ctx.tokens.acquire(client, scope, ctx.signal);
    return { ok: true, token, durationMs: ctx.now() - started };
  } catch (error) {
    return {
      ok: false,
      error: asProbeError(error),
      durationMs: ctx.now() - started,
      facts: tokenRequestFacts(ctx, client, scope),
    };
  }
}

function tokenRequestFacts(ctx: TargetRunContext, client: ClientRole, scope: string): TokenRequestFacts {
  const { config } = ctx;
  if (client === "unassigned") {
    return {
      ...(config.unassignedClient ? { clientId: config.unassignedClient.clientId } : {}),
      scope,
      tenant: config.tenantId,
      secretSetting: "PROBE_UNASSIGNED_CLIENT_SECRET",
    };
  }
  return {
    clientId: config.clientId,
    scope,
    tenant: config.tenantId,
    authorityHost: config.authorityHost,
    federatedAudience: tokenExchangeScope(config.cloud).slice(0, -"/.default".length),
    ...(config.credential.kind === "secret" ? { secretSetting: "PROBE_CLIENT_SECRET" } : {}),
  };
}

function asProbeError(error: unknown): ProbeError {
  if (error instanceof ProbeError) return error;
  return new TokenAcquisitionError("token request failed unexpectedly", {}, { cause: error });
}

async function runProbe(
  ctx: TargetRunContext,
  probe: ProbeName,
  apiToken: () => Promise<Attempt>,
  acquire: (client: ClientRole, scope: string) => Promise<Attempt>,
): Promise<ProbedResult> {
  const startedMs = ctx.now();
  const expected = ctx.target.expectedStatuses[probe];
  let partial: ProbePartial;
  try {
    partial =
      ctx.target.scope === undefined && NEED_API_AUDIENCE.includes(probe)
        ? scopeUnknown()
        : await PROBES[probe](ctx, expected, apiToken, acquire);
  } catch (error) {
    partial = errorResult(error);
  }
  const { observed, ...fields } = partial;
  const result: ProbeResult = {
    target: ctx.target.name,
    probe,
    expectedStatuses: expected,
    startedAt: new Date(startedMs).toISOString(),
    ...fields,
    durationMs: roundMs(fields.durationMs ?? ctx.now() - startedMs),
  };
  return { result, observation: observationFromResult(result, observed) };
}

type ProbeRun = (
  ctx: TargetRunContext,
  expected: readonly number[],
  apiToken: () => Promise<Attempt>,
  acquire: (client: ClientRole, scope: string) => Promise<Attempt>,
) => Promise<ProbePartial>;

/**
 * Probes that need a token for the API's audience (or to compare with one). Without a scope they
 * are skipped, saying what gives one; the key probes, `valid` (key only) and `no-token` still run.
 */
const NEED_API_AUDIENCE: readonly ProbeName[] = [
  "token",
  "wrong-audience",
  "expired-token",
  "forged-signature",
  "alg-none",
  "unassigned-client",
];

/** The API's scope, for the probes runProbe runs only when the target has one. */
function apiScope(ctx: TargetRunContext): string {
  if (ctx.target.scope === undefined) throw new TypeError("a probe that needs the API's audience ran without a scope");
  return ctx.target.scope;
}

function scopeUnknown(): ProbePartial {
  return {
    ...skipped(
      "the API's audience is unknown (its APIOps policy names none): set PROBE_API_SCOPE, the target's scope in the targets file, or run apim-smoke targets with --scope",
    ),
    cause: "scope-unknown",
  };
}

const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });
/** The target's subscription key in the header the API takes it in; none when the target has no key. */
const keyHeader = (ctx: TargetRunContext): Record<string, string> =>
  ctx.target.subscriptionKey ? { [ctx.keyHeader]: ctx.target.subscriptionKey.reveal() } : {};
/** A key no subscription has: 32 random hex characters, the shape of a real one. */
const wrongKey = (): string => randomBytes(16).toString("hex");

/** What one request of a probe carries: its headers, and the token among them (summarised on the result, never kept). */
interface Credentials {
  headers: Record<string, string>;
  token?: string;
}

/** The same credentials again, made from a fresh token: for a retry the first token would not outlive. */
type Renew = () => Promise<Credentials>;

/**
 * Credentials made from a token of `client` for `scope`, with the way to make them again from a fresh
 * one. The fresh token comes from the token source itself, past this target's memo: MSAL hands out a
 * new token once the cached one is within minutes of its expiry.
 */
function renewable(
  ctx: TargetRunContext,
  client: ClientRole,
  scope: string,
  make: (token: string) => Credentials | Promise<Credentials>,
): Renew {
  return async () => make((await ctx.tokens.acquire(client, scope, ctx.signal)).accessToken.reveal());
}

/**
 * Sends with the API token plus `more` headers, or with `more` alone when the target has no scope
 * (a key-only request).
 */
const withApiToken = (
  ctx: TargetRunContext,
  apiToken: () => Promise<Attempt>,
  more: () => Record<string, string>,
  then: (credentials: Credentials, renew?: Renew) => Promise<ProbePartial>,
): Promise<ProbePartial> => {
  if (ctx.target.scope === undefined) return then({ headers: more() });
  const make = (token: string): Credentials => ({ headers: { ...bearer(token), ...more() }, token });
  return withToken(apiToken, (token) => then(make(token), renewable(ctx, "probe", ctx.target.scope!, make)));
};

/** A token derived from the API token (re-signed or unsigned), sent with the key; renewed from a fresh API token. */
const withDerivedToken = (
  ctx: TargetRunContext,
  probe: ProbeName,
  expected: readonly number[],
  apiToken: () => Promise<Attempt>,
  derive: (token: string) => string | Promise<string>,
): Promise<ProbePartial> =>
  withToken(apiToken, async (token) => {
    const make = async (from: string): Promise<Credentials> => {
      const derived = await derive(from);
      return { headers: { ...bearer(derived), ...keyHeader(ctx) }, token: derived };
    };
    return call(ctx, probe, expected, await make(token), { renew: renewable(ctx, "probe", apiScope(ctx), make) });
  });

const PROBES: Record<ProbeName, ProbeRun> = {
  token: async (ctx, _expected, apiToken) => {
    const attempt = await apiToken();
    if (!attempt.ok) return { ...failureOf(attempt.error, "fail", attempt.facts), durationMs: attempt.durationMs };
    const token = summarizeToken(attempt.token.accessToken.reveal());
    return {
      outcome: "pass",
      durationMs: attempt.durationMs,
      message: `token acquired for ${ctx.target.scope}${attempt.token.fromCache ? " (from cache)" : ""}${describeToken(token)}`,
      ...(token ? { token } : {}),
    };
  },

  valid: (ctx, expected, apiToken) =>
    withApiToken(
      ctx,
      apiToken,
      () => keyHeader(ctx),
      async (credentials, renew) => {
        // Before the call, so the policy's verdict is on the token the gateway is about to judge.
        const preflight = credentials.token === undefined ? undefined : await ctx.policy?.preflight(credentials.token);
        const partial = await call(ctx, "valid", expected, credentials, {
          ...(credentials.token === undefined ? { note: "sent with the key only: no scope is known for the API" } : {}),
          ...(ctx.target.assertions ? { assertions: ctx.target.assertions } : {}),
          ...(renew ? { renew } : {}),
        });
        return preflight ? observe(partial, { preflight }) : partial;
      },
    ),

  "no-subscription-key": (ctx, expected, apiToken) => {
    if (!ctx.target.subscriptionKey) return Promise.resolve(skipped("no subscription key configured for this target"));
    return withApiToken(
      ctx,
      apiToken,
      () => ({}),
      (credentials, renew) => call(ctx, "no-subscription-key", expected, credentials, renew ? { renew } : {}),
    );
  },

  "invalid-subscription-key": (ctx, expected, apiToken) => {
    if (!ctx.target.subscriptionKey) return Promise.resolve(skipped("no subscription key configured for this target"));
    return withApiToken(
      ctx,
      apiToken,
      () => ({ [ctx.keyHeader]: wrongKey() }),
      (credentials, renew) => call(ctx, "invalid-subscription-key", expected, credentials, renew ? { renew } : {}),
    );
  },

  "no-token": (ctx, expected) => call(ctx, "no-token", expected, { headers: keyHeader(ctx) }),

  "wrong-audience": async (ctx, expected, apiToken, acquire) => {
    const scope = ctx.config.wrongAudienceScope;
    const attempt = await acquire("probe", scope);
    if (!attempt.ok) return blockedBy("wrong-audience token", attempt.error, attempt.facts);
    const token = attempt.token.accessToken.reveal();
    const make = (t: string): Credentials => ({ headers: { ...bearer(t), ...keyHeader(ctx) }, token: t });
    const partial = await call(ctx, "wrong-audience", expected, make(token), {
      renew: renewable(ctx, "probe", scope, make),
    });
    // A refusal proves the aud check only if nothing else about the token was wrong.
    const valid = await apiToken();
    const unproven = await audienceIsolation(
      { token, summary: partial.token },
      valid.ok ? summarizeToken(valid.token.accessToken.reveal()) : undefined,
      ctx.config,
      ctx.policy,
    );
    return unproven ? observe(partial, { audienceUnproven: unproven }) : partial;
  },

  "expired-token": (ctx, expected) => {
    const harvested = ctx.expiredTokens.expired(apiScope(ctx), ctx.expiredTokenMarginMs);
    const supplied = ctx.config.expiredToken;
    let token: string | undefined;
    let source: string;
    if (harvested) {
      token = harvested.reveal();
      source = "a token the probe acquired earlier (this process or, from the state, an earlier one)";
    } else if (supplied) {
      const exp = expiresAtMs(supplied.reveal());
      if (exp === undefined || exp > ctx.now())
        return Promise.resolve(skipped("PROBE_EXPIRED_TOKEN has not expired yet (or has no exp)"));
      token = supplied.reveal();
      source = "PROBE_EXPIRED_TOKEN";
    } else {
      return Promise.resolve(
        skipped(
          `no expired token yet: a token this process acquired is sent once it is past exp + ${Math.round(ctx.expiredTokenMarginMs / 1000)} s (the policy's clock-skew and ours); ` +
            "set PROBE_EXPIRED_TOKEN to probe now, or let later runs use this one: with PROBE_STATE_KEY and a state store (the CLI's --state-dir) it outlives the process",
        ),
      );
    }
    // Expired on purpose: nothing to renew, a retry sends it as it is.
    return call(
      ctx,
      "expired-token",
      expected,
      { headers: { ...bearer(token), ...keyHeader(ctx) }, token },
      { note: `sent ${source}` },
    ).then(async (partial) => {
      // A refused expired token proves expiry is checked only if its key is still published.
      const jwksKids = await ctx.policy?.publishedKids(partial.token?.kid);
      return jwksKids ? observe(partial, { jwksKids }) : partial;
    });
  },

  "forged-signature": (ctx, expected, apiToken) =>
    withDerivedToken(ctx, "forged-signature", expected, apiToken, forgeSignature),

  "alg-none": (ctx, expected, apiToken) => withDerivedToken(ctx, "alg-none", expected, apiToken, algNoneToken),

  "tls-certificate": (ctx) => tlsCertificate(ctx),

  "credential-expiry": (ctx, _expected, _apiToken, acquire) =>
    credentialExpiry(ctx, async () => {
      const attempt = await acquire("probe", graphScope(ctx.config.cloud));
      return attempt.ok ? { ok: true, token: attempt.token.accessToken.reveal() } : { ok: false, error: attempt.error };
    }),

  "unassigned-client": async (ctx, expected, _apiToken, acquire) => {
    if (!ctx.config.unassignedClient)
      return skipped("PROBE_UNASSIGNED_CLIENT_ID and PROBE_UNASSIGNED_CLIENT_SECRET are not set");
    const attempt = await acquire("unassigned", apiScope(ctx));
    if (!attempt.ok) {
      const e = attempt.error;
      // Entra refusing the token is the strongest pass: the client cannot even get one.
      if (e instanceof TokenAcquisitionError && e.details.aadsts === AADSTS_NOT_ASSIGNED) {
        return {
          outcome: "pass",
          durationMs: attempt.durationMs,
          // No actualStatus: the API was never called; the token endpoint's 400 next to an expected
          // 401/403 read as a contradiction. The row says what happened instead.
          message: `refused by Entra as expected: AADSTS${AADSTS_NOT_ASSIGNED} (the client has no role on the API)`,
          cause: `AADSTS${AADSTS_NOT_ASSIGNED}`,
        };
      }
      return blockedBy("unassigned client's token", e, attempt.facts);
    }
    const make = (t: string): Credentials => ({ headers: { ...bearer(t), ...keyHeader(ctx) }, token: t });
    return call(ctx, "unassigned-client", expected, make(attempt.token.accessToken.reveal()), {
      renew: renewable(ctx, "unassigned", apiScope(ctx), make),
    });
  },
};

async function withToken(
  apiToken: () => Promise<Attempt>,
  then: (token: string) => Promise<ProbePartial>,
): Promise<ProbePartial> {
  const attempt = await apiToken();
  if (!attempt.ok) return blockedBy("token", attempt.error, attempt.facts);
  return then(attempt.token.accessToken.reveal());
}

interface CallOptions {
  /** Said after the verdict ("sent PROBE_EXPIRED_TOKEN"). */
  note?: string;
  /** Checked on the answer when its status passes (the valid probe's). */
  assertions?: ResponseAssertions;
  /** Absent where nothing ages: no token at all, or a token expired on purpose. */
  renew?: Renew;
}

type Sent = { res: ProbeResponse } | { error: unknown };

/** The check each rejecting probe's refusal is meant to prove, as its message names it. */
const PROVED_CHECK: Readonly<Partial<Record<ProbeName, string>>> = {
  "no-subscription-key": "subscription key",
  "invalid-subscription-key": "subscription key",
  "no-token": "token's presence",
  "wrong-audience": "audience",
  "expired-token": "expiry",
  "forged-signature": "signature",
  "alg-none": "unsigned-token",
  "unassigned-client": "role",
};

/**
 * What refused a rejecting probe's request when its answer names a check that cannot be the one the
 * probe tests: APIM's subscription key check for a probe that tests the token (APIM refuses a bad
 * key before any policy runs, so the token was never judged), validate-jwt for a probe that tests
 * the key (it runs after the key check) or that sent a token it did not find; for any probe, the
 * ip-filter policy (it judged the caller's address, not its credentials) or APIM's 404 for a URL no
 * API matches (a target may list 404 among its refusals, for an API that hides itself; this 404
 * judged nothing).
 */
function refusedByAnotherCheck(probe: ProbeName, res: ProbeResponse): string | undefined {
  if (TOKEN_PROBES.includes(probe) && subscriptionKeyRefusal(res)) {
    return "the subscription key check, before any token check";
  }
  // validate-jwt runs after the key check: its refusal means the key check let the request through.
  if (KEY_PROBES.includes(probe) && tokenNotFoundRefusal(res)) {
    return "token validation (JWT not present), which runs only once the subscription key check has let a request through";
  }
  if (SENDS_TOKEN.includes(probe) && tokenNotFoundRefusal(res)) {
    return "token validation finding no token where it looks (JWT not present), so never judging this one";
  }
  if (ipFilterRefusal(res)) return "the ip-filter policy (the caller's IP address)";
  if (apiNotFoundRefusal(res)) return "APIM finding no API or operation at the URL (Resource not found)";
  return undefined;
}

async function call(
  ctx: TargetRunContext,
  probe: ProbeName,
  expected: readonly number[],
  first: Credentials,
  options: CallOptions = {},
): Promise<ProbePartial> {
  const { note, assertions } = options;
  const acceptOpen = ctx.target.acceptOpen;
  const send = ({ headers }: Credentials): Promise<Sent> =>
    sendProbeRequest(
      {
        url: ctx.target.url,
        method: ctx.target.method,
        // The target's own headers first: the probe's credentials (or their deliberate absence) win.
        headers: { ...ctx.target.requestHeaders, ...headers },
        ...(ctx.target.body !== undefined ? { body: ctx.target.body } : {}),
        ...(assertions ? { keepAnswer: true } : {}),
        statusDecides: (status) => acceptOpen === undefined && classifyStatus(probe, expected, status) === "security",
        credentialHeaders: [ctx.keyHeader],
        timeoutMs: ctx.config.timeoutMs,
        signal: ctx.signal,
      },
      ctx.http,
    ).then(
      (res) => ({ res }),
      (error: unknown) => ({ error }),
    );
  let attempt = { credentials: first, at: ctx.now(), sent: await send(first) };
  let attempts = 1;
  let retryNote = "";
  const transient =
    "res" in attempt.sent
      ? isTransientStatus(probe, expected, attempt.sent.res.status)
      : isTransientError(attempt.sent.error);
  if (transient && (await mayRetry(ctx))) {
    const again = await credentialsForRetry(ctx, first, options.renew);
    if ("notRetried" in again) {
      retryNote = `; not retried: ${again.notRetried}`;
    } else {
      attempts = 2;
      const firstAttempt = attempt;
      attempt = { credentials: again, at: ctx.now(), sent: await send(again) };
      // A retry that fails differently never hides the first failure: the first attempt's cause stays.
      // A retry that passed, or that was let in, decides: a security outcome is never hidden behind it.
      const retryOutcome = "res" in attempt.sent ? classifyStatus(probe, expected, attempt.sent.res.status) : "error";
      if (retryOutcome === "security") {
        retryNote = `; the first attempt ${attemptSummary(firstAttempt.sent)}`;
      } else if (retryOutcome !== "pass" && attemptSummary(firstAttempt.sent) !== attemptSummary(attempt.sent)) {
        retryNote = `; the retry ${attemptSummary(attempt.sent)}`;
        attempt = firstAttempt;
      }
    }
  }
  const { sent, at } = attempt;
  const token = attempt.credentials.token ? summarizeToken(attempt.credentials.token) : undefined;
  const sentKeyHeader = Object.keys(attempt.credentials.headers).some(
    (h) => h.toLowerCase() === ctx.keyHeader.toLowerCase(),
  )
    ? ctx.keyHeader
    : undefined;
  const retried = attempts > 1 ? { attempts } : {};
  if ("error" in sent) {
    const partial = errorResult(sent.error);
    return observe(
      { ...partial, message: `${partial.message}${retryNote}`, ...retried, ...(token ? { token } : {}) },
      { at },
    );
  }
  const res = sent.res;
  const statusOutcome = classifyStatus(probe, expected, res.status);
  const failed =
    statusOutcome === "pass"
      ? (errorDocumentFailure(res) ?? (assertions ? checkAssertions(assertions, res) : undefined))
      : undefined;
  if (failed) {
    return {
      outcome: "fail",
      actualStatus: res.status,
      durationMs: res.durationMs,
      message: `got ${res.status}, but ${failed.assertion} expected ${failed.expected}, received ${failed.received}`,
      cause: failed.cause,
      ...retried,
      ...(res.requestId ? { requestId: res.requestId } : {}),
      ...(token ? { token } : {}),
      observed: { at, assertionFailure: failed },
    };
  }
  // Open by design, said so explicitly on the target: reported on every run, never a silent pass.
  const acceptedOpen = statusOutcome === "security" && acceptOpen !== undefined;
  // The expected status, but from another check than the probe's: it proves nothing, so it is no pass.
  const refusedBy =
    statusOutcome === "pass" && REJECTING_PROBES.includes(probe) ? refusedByAnotherCheck(probe, res) : undefined;
  const outcome = acceptedOpen ? "pass" : refusedBy ? "fail" : statusOutcome;
  const verdict = acceptedOpen
    ? ": let in, as accepted (acceptOpen)"
    : outcome === "security"
      ? ": the gateway let this request in"
      : refusedBy
        ? ` from ${refusedBy}: nothing is proved about the ${PROVED_CHECK[probe] ?? probe} check`
        : "";
  const apim = outcome !== "pass" && res.apimMessage ? ` (${res.apimMessage})` : "";
  return {
    outcome,
    actualStatus: res.status,
    durationMs: res.durationMs,
    message: `expected ${formatStatuses(expected)}, got ${res.status}${verdict}${apim}${note ? `; ${note}` : ""}${res.bodyProblem ? `; ${res.bodyProblem}` : ""}${attempts > 1 ? `; after ${attempts} attempts` : ""}${retryNote}`,
    ...retried,
    ...(res.apimMessage ? { apimMessage: res.apimMessage } : {}),
    ...(res.requestId ? { requestId: res.requestId } : {}),
    ...(res.wwwAuthenticate ? { wwwAuthenticate: res.wwwAuthenticate } : {}),
    ...(token ? { token } : {}),
    observed: {
      at,
      ...(res.answeredBy ? { answeredBy: res.answeredBy } : {}),
      ...(acceptedOpen ? { acceptedOpen: acceptOpen } : {}),
      ...(sentKeyHeader ? { sentKeyHeader } : {}),
    },
  };
}

/**
 * What a retry sends: the first attempt's credentials while their token outlives a whole request,
 * else the same credentials from a fresh token. Sending the old token once it has expired would
 * make the retry another test (the gateway refusing the token, not answering for the API).
 */
async function credentialsForRetry(
  ctx: TargetRunContext,
  first: Credentials,
  renew: Renew | undefined,
): Promise<Credentials | { notRetried: string }> {
  const exp = first.token ? summarizeToken(first.token)?.exp : undefined;
  if (!renew || exp === undefined || exp * 1000 > ctx.now() + ctx.config.timeoutMs) return first;
  try {
    return await renew();
  } catch (error) {
    const why = error instanceof ProbeError ? causeOf(error) : "error";
    return {
      notRetried: `its token expires before a second request would end, and a fresh one could not be had (${why})`,
    };
  }
}

/**
 * A gateway's 502/503/504 where the probe expected something else: the answer of a moment (a
 * backend restarting, a gateway unit recycling), worth one more try before it pages anyone. Never a
 * 2xx: a request let in is a `security` outcome, reported as it came, never retried.
 */
function isTransientStatus(probe: ProbeName, expected: readonly number[], status: number): boolean {
  return (status === 502 || status === 503 || status === 504) && classifyStatus(probe, expected, status) === "fail";
}

/** One attempt in a few words, to compare two and to say what the retry got. */
function attemptSummary(sent: Sent): string {
  if ("res" in sent) return `got ${sent.res.status}`;
  return `failed (${sent.error instanceof ProbeError ? causeOf(sent.error) : "error"})`;
}

/** A reset connection or a timeout; not DNS or TLS, which a second try in the same second does not change. */
function isTransientError(error: unknown): boolean {
  return error instanceof TransportError && (error.kind === "connection" || error.kind === "timeout");
}

/** The pause before the one retry: long enough for a reset connection pool, short beside any budget. */
const RETRY_PAUSE_MS = 250;

/** Whether one more request, at the full timeout, still fits in the run's budget; waits the pause when it does. */
async function mayRetry(ctx: TargetRunContext): Promise<boolean> {
  if (ctx.signal.aborted || ctx.now() + RETRY_PAUSE_MS + ctx.config.timeoutMs > ctx.deadlineMs) return false;
  await new Promise((resolve) => setTimeout(resolve, RETRY_PAUSE_MS));
  return !ctx.signal.aborted;
}

function failureOf(error: ProbeError, outcome: Outcome, facts: TokenRequestFacts): ProbePartial {
  const status = error instanceof TokenAcquisitionError ? error.details.status : undefined;
  return {
    outcome: error instanceof TransportError ? "error" : outcome,
    message: error.message,
    cause: causeOf(error),
    ...(status ? { actualStatus: status } : {}),
    observed: observedFailure(error, facts),
  };
}

function blockedBy(prerequisite: string, error: ProbeError, facts: TokenRequestFacts): ProbePartial {
  return {
    outcome: "blocked",
    // The runner adds the diagnosis code once the run is diagnosed ("blocked by token: invalid-client-secret").
    message: `blocked by ${prerequisite}: ${causeOf(error)}`,
    blockedBy: prerequisite,
    cause: causeOf(error),
    durationMs: 0,
    observed: observedFailure(error, facts),
  };
}

/**
 * The token endpoint's refusal (with who asked) or the transport kind, straight from the error. A
 * token request's transport failure happened at Entra's token endpoint, not at the API.
 */
function observedFailure(error: ProbeError, facts: TokenRequestFacts): Observed {
  const failure = observeError(error);
  if (failure.tokenFailure) return { ...failure, ...facts };
  return failure.transportFailure ? { ...failure, ...facts, failedAt: "token-endpoint" } : failure;
}

function describeToken(token: TokenSummary | undefined): string {
  if (!token) return "";
  const aud = Array.isArray(token.aud) ? token.aud.join(",") : token.aud;
  return ` (aud ${aud ?? "?"}, ver ${token.ver ?? "?"}, roles ${token.roles?.join(",") ?? "none"})`;
}
