import { randomUUID } from "node:crypto";
import type { Dispatcher } from "undici";
import { createOpenIdConfigResolver, type SigningKeyResolver } from "../../policy/index.js";
import { CLOUDS } from "../../entra/clouds.js";
import { CATALOGUE, renderTemplate } from "../diagnosis/catalogue.js";
import { diagnoseRun, type FolderPromises, type TenantContext } from "../diagnosis/index.js";
import { isProductError, UsageError } from "../errors.js";
import { RunBudgetExceeded } from "../http/transport-error.js";
import { summarize } from "../results/summary.js";
import type { Diagnosis, ProbeResult, RunReport } from "../results/types.js";
import { DEFAULT_SUBSCRIPTION_KEY_HEADER } from "../settings/rules.js";
import type { ProbeConfig, TargetConfig } from "../settings/types.js";
import type { SigningKeyWatch } from "../tokens/signing-key-watch.js";
import { describeDrift, driftKinds, type TokenHistory } from "../tokens/drift.js";
import { PreflightCache } from "./preflight-cache.js";
import { ExpiredTokenStore, expiryMarginMs } from "../tokens/expired-token-store.js";
import { createMsalTokenSource, type TokenSource } from "../tokens/token-source.js";
import type { ProbeName } from "../../probe-matrix/names.js";
import type { ForecastCarriers } from "./forecasts.js";
import type { PresentedCertificates } from "../http/presented-certificates.js";
import pLimit from "p-limit";
import { DEFAULT_TARGET_CONCURRENCY } from "../settings/defaults.js";
import { settleWithin } from "./watchdog.js";
import {
  expectationsFor,
  loadTargetPolicies,
  policyChecks,
  policyConfigIssuers,
  tenantIssuers,
  type FetchedIssuers,
  type TargetPolicies,
} from "./target-policy.js";
import { runTargetProbes, type ProbedResult, type ProbeLanes } from "./target-probes.js";
import { debugEnabled, debugFailure, debugStep, rememberSecrets } from "../debug.js";

/**
 * Replaces the built-in diagnosis (src/core/diagnosis/ on everything the probes observed, with the
 * cross-probe rules applied per target) by a custom one that sees only the result.
 */
export type Diagnoser = (
  result: ProbeResult,
  context: { target: TargetConfig; config: ProbeConfig },
) => Diagnosis | undefined;

export type ProgressEvent =
  { type: "start"; done: 0; total: number } | { type: "result"; result: ProbeResult; done: number; total: number };

export interface RunDeps {
  dispatcher: Dispatcher;
  now: () => number;
  /** Keep one across runs (MSAL cache). Default: a new MSAL token source for this run. */
  tokens?: TokenSource;
  /** Keep one across runs (it is where expired tokens come from). Default: a new, empty store. */
  expiredTokens?: ExpiredTokenStore;
  /** Default: the built-in diagnosis; `false` leaves results undiagnosed. */
  diagnose?: Diagnoser | false;
  /** Parsed validate-jwt per target name (keep across runs). Default: read from the targets' policyFile. */
  policies?: TargetPolicies;
  /** openid-config documents for preflights (keep across runs: it caches). Default: one over `dispatcher`. */
  openIdConfig?: SigningKeyResolver;
  /** Keep across runs: it remembers the tenant's signing keys, to report a rollover. */
  signingKeys?: SigningKeyWatch;
  /** Keep across runs: the last token per client and scope, to report token drift. */
  tokenHistory?: TokenHistory;
  /** Preflight verdicts shared by targets with the same policy. Default: one for this run. */
  preflightCache?: PreflightCache;
  /** The certificates the dispatcher's connections were shown (createProbeConnections). Default: a fresh handshake per gateway. */
  certificates?: PresentedCertificates;
  onProgress?: (event: ProgressEvent) => void;
}

export interface RunOptions {
  /** Only these targets (by name); unknown names are a UsageError. */
  targets?: readonly string[];
  /** Only these probes. */
  probes?: readonly ProbeName[];
  trigger?: RunReport["trigger"];
  source?: string;
  runId?: string;
  /**
   * Targets in flight at once in each lane (requests the gateway decides; requests that reach the
   * backend). Default 4.
   */
  targetConcurrency?: number;
  /**
   * Wall-clock budget of the whole run, ms; when it runs out every request still in flight is
   * aborted and reported as `error` (timeout). Default: per wave of targets, a token request and an
   * API request at the full deadline, plus 1 s.
   */
  runBudgetMs?: number;
}

/** Runs the probe matrix over the configured targets and returns the report. Never throws for a probe failure. */
export async function runProbes(config: ProbeConfig, deps: RunDeps, options: RunOptions = {}): Promise<RunReport> {
  const targets = selectTargets(config.targets, options.targets);
  const concurrency = Math.max(1, options.targetConcurrency ?? config.targetConcurrency ?? DEFAULT_TARGET_CONCURRENCY);
  const waves = Math.ceil(targets.length / concurrency);
  const budgetMs = options.runBudgetMs ?? config.runBudgetMs ?? waves * 2 * config.timeoutMs + 1_000;
  rememberSecrets(config);
  const tokens = withDebugSteps(deps.tokens ?? createMsalTokenSource(config, { dispatcher: deps.dispatcher }));
  const expiredTokens = deps.expiredTokens ?? new ExpiredTokenStore({ now: deps.now });
  const allowedOrigins = new Set(config.targets.map((t) => new URL(t.url).origin));
  const policies = deps.policies ?? loadTargetPolicies(targets);
  const openIdConfig = deps.openIdConfig ?? createOpenIdConfigResolver({ dispatcher: deps.dispatcher, now: deps.now });

  // Read while the probes run, needed only to diagnose: the tenant's own issuers, from its discovery
  // documents (cached an hour, as APIM caches them), for targets without a policy.
  const diagnosing = deps.diagnose !== false;
  const tenantIssuersOnce =
    diagnosing && targets.some((t) => !policies.get(t.name)?.validateJwt)
      ? tenantIssuers(config, openIdConfig)
      : Promise.resolve(undefined);

  let keysObserved = false;
  const preflightCache = deps.preflightCache ?? new PreflightCache(deps.now);
  const startedMs = deps.now();
  const budget = new AbortController();
  const timer = setTimeout(() => budget.abort(new RunBudgetExceeded()), budgetMs);
  timer.unref();

  const plan = targets.map((target) => ({
    target,
    probes: target.probes.filter((p) => !options.probes || options.probes.includes(p)),
  }));
  const carriers = forecastCarriers(plan);
  const total = plan.reduce((n, p) => n + p.probes.length, 0);
  deps.onProgress?.({ type: "start", done: 0, total });
  debugStep("run start", { targets: plan.map((p) => p.target.name), probes: total, concurrency, budgetMs });
  let done = 0;
  const lanes: ProbeLanes = { gateway: pLimit(concurrency), backend: pLimit(concurrency) };
  try {
    const probeTarget = async ({ target, probes }: (typeof plan)[number]): Promise<ProbeResult[]> => {
      debugStep("target start", { target: target.name, probes });
      const policy = policies.get(target.name);
      const jwt = policy?.validateJwt;
      const probed = await runTargetProbes({
        config,
        target,
        probes,
        http: { dispatcher: deps.dispatcher, allowedOrigins },
        tokens,
        expiredTokens,
        // The key header: the target's own, else its APIOps folder's, else APIM's default.
        keyHeader:
          target.subscriptionKeyHeader ??
          policy?.folderPromises?.subscriptionKeyHeader ??
          DEFAULT_SUBSCRIPTION_KEY_HEADER,
        expiredTokenMarginMs: expiryMarginMs(
          policy ? Math.max(0, ...policy.tokenChecks.map((c) => c.clockSkewSeconds)) : undefined,
        ),
        now: deps.now,
        signal: budget.signal,
        deadlineMs: startedMs + budgetMs,
        runStartedMs: startedMs,
        forecasts: carriers(target),
        lanes,
        ...(deps.certificates ? { certificates: deps.certificates } : {}),
        ...(policy && policy.tokenChecks.length > 0
          ? { policy: policyChecks(policy, { keys: openIdConfig, now: deps.now, cache: preflightCache }) }
          : {}),
      });
      const fetched: FetchedIssuers = jwt
        ? { byTarget: new Map([[target.name, (await policyConfigIssuers(jwt, openIdConfig)) ?? []]]) }
        : { ...(await tenantIssuersFor(tenantIssuersOnce)) };
      // The tenant's keys, once per run (the first target's token), compared with the previous run's.
      const tokenProbe = probed.find((p) => p.result.probe === "token" && p.result.outcome === "pass");
      if (tokenProbe && deps.signingKeys && !keysObserved) {
        keysObserved = true;
        const change = await deps.signingKeys.observe(tokenProbe.result.token?.kid);
        if (change) tokenProbe.observation.signingKeyChange = change;
      }
      if (tokenProbe?.result.token && deps.tokenHistory && target.scope !== undefined) {
        const drift = deps.tokenHistory.observe(config.clientId, target.scope, tokenProbe.result.token);
        if (drift) {
          tokenProbe.observation.tokenDrift = drift;
          tokenProbe.observation.scope = target.scope;
          tokenProbe.result.tokenDrift = driftKinds(drift);
          tokenProbe.result.message += `; changed since the last run: ${describeDrift(drift)}`;
        }
      }
      const diagnoses = diagnoseTarget(probed, deps.diagnose, { target, config }, jwt, fetched, policy?.folderPromises);
      return probed.map(({ result }, i) => {
        const diagnosis = diagnoses[i];
        if (diagnosis) result.diagnosis = diagnosis;
        if (diagnosis && result.blockedBy) result.message = `blocked by ${result.blockedBy}: ${diagnosis.cause}`;
        done++;
        debugProbe(result);
        deps.onProgress?.({ type: "result", result, done, total });
        return result;
      });
    };
    // Every target starts at once; the lanes decide which of its requests go when.
    const perTarget = await Promise.all(
      plan.map(async (item) => {
        const settled = await settleWithin(probeTarget(item), budget.signal, WATCHDOG_GRACE_MS, () =>
          unsettledResults(item, { budgetMs, startedMs, now: deps.now }).map((result) => {
            done++;
            debugProbe(result);
            deps.onProgress?.({ type: "result", result, done, total });
            return result;
          }),
        );
        debugStep("target end", { target: item.target.name, outcomes: settled.map((r) => `${r.probe}:${r.outcome}`) });
        return settled;
      }),
    );
    const results = perTarget.flat();
    const report: RunReport = {
      runId: options.runId ?? randomUUID(),
      startedAt: new Date(startedMs).toISOString(),
      trigger: options.trigger ?? "cli",
      ...(options.source ? { source: options.source } : {}),
      results,
      summary: summarize(results, deps.now() - startedMs),
    };
    debugStep("run end", { runId: report.runId, ...report.summary });
    return report;
  } catch (error) {
    debugFailure("run failed", error);
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/** A probe's outcome on the debug channel: what it is about, never its token. */
function debugProbe(result: ProbeResult): void {
  if (!debugEnabled()) return;
  const { target, probe, outcome, actualStatus, durationMs, cause, blockedBy, requestId } = result;
  debugStep("probe", {
    target,
    probe,
    outcome,
    actualStatus,
    durationMs,
    cause: result.diagnosis?.cause ?? cause,
    blockedBy,
    requestId,
  });
}

/** Each token acquisition's outcome on the debug channel (the source unchanged when it is off). */
function withDebugSteps(source: TokenSource): TokenSource {
  if (!debugEnabled()) return source;
  return {
    async acquire(client, scope, signal) {
      try {
        const token = await source.acquire(client, scope, signal);
        debugStep("token acquired", { client, scope, fromCache: token.fromCache });
        return token;
      } catch (error) {
        // A refusal is an outcome (the unassigned client's is expected); anything else, its stack too.
        debugStep("token not acquired", { client, scope, code: isProductError(error) ? error.code : undefined });
        if (!isProductError(error)) debugFailure("token acquisition", error);
        throw error;
      }
    },
  };
}

/**
 * How long a target's probes get to settle once the run's budget is spent and every request was
 * aborted. An abort normally settles at once; past this the watchdog answers for them.
 */
export const WATCHDOG_GRACE_MS = 2_000;

/** The results of a target whose probes did not settle after the budget ran out (the watchdog's answer). */
function unsettledResults(
  { target, probes }: { target: TargetConfig; probes: readonly ProbeName[] },
  run: { budgetMs: number; startedMs: number; now: () => number },
): ProbeResult[] {
  const entry = CATALOGUE["run-budget"];
  return probes.map((probe) => {
    const evidence = { probe, budgetMs: String(run.budgetMs) };
    const summary = renderTemplate(entry.summary, {
      ...evidence,
      budgetDetail: ` (${run.budgetMs} ms): the request did not settle even after it was aborted`,
    });
    return {
      target: target.name,
      probe,
      outcome: "error",
      expectedStatuses: target.expectedStatuses[probe],
      durationMs: Math.max(0, run.now() - run.startedMs),
      message: `error: ${summary}`,
      startedAt: new Date(run.startedMs).toISOString(),
      cause: "run-budget",
      diagnosis: { cause: "run-budget", summary, fix: entry.fix, evidence },
    } satisfies ProbeResult;
  });
}

/** After the target's probes finished: the cross-probe rules need all of them. */
function diagnoseTarget(
  probed: readonly ProbedResult[],
  custom: Diagnoser | false | undefined,
  context: { target: TargetConfig; config: ProbeConfig },
  policy: Parameters<typeof expectationsFor>[2],
  fetched: FetchedIssuers,
  promises: FolderPromises | undefined,
): (Diagnosis | undefined)[] {
  if (custom === false) return [];
  if (custom) return probed.map(({ result }) => custom(result, context));
  return diagnoseRun(
    probed.map((p) => p.observation),
    expectationsFor(context.target, context.config, policy, fetched),
    tenantContext(context.config),
    promises,
  );
}

/** The tenant as a fix names it: the v2 metadata on its cloud's real authority (the sandbox's is loopback). */
function tenantContext(config: ProbeConfig): TenantContext {
  const host = config.cloud ? CLOUDS[config.cloud].authorityHost : new URL(config.authorityHost).host;
  return {
    tenantId: config.tenantId,
    openIdConfigUrl: `https://${host}/${config.tenantId}/v2.0/.well-known/openid-configuration`,
  };
}

async function tenantIssuersFor(pending: Promise<string[] | undefined>): Promise<FetchedIssuers> {
  const tenant = await pending;
  return tenant ? { tenant } : {};
}

/**
 * Each forecast is made once: the gateway's certificate by the first target (in configured order)
 * on each origin that runs tls-certificate, the credentials by the first that runs credential-expiry.
 */
function forecastCarriers(
  plan: readonly { target: TargetConfig; probes: readonly ProbeName[] }[],
): (target: TargetConfig) => ForecastCarriers {
  const byOrigin = new Map<string, string>();
  let credentials: string | undefined;
  for (const { target, probes } of plan) {
    const origin = new URL(target.url).origin;
    if (probes.includes("tls-certificate") && !byOrigin.has(origin)) byOrigin.set(origin, target.name);
    if (probes.includes("credential-expiry")) credentials ??= target.name;
  }
  return (target) => {
    const certificate = byOrigin.get(new URL(target.url).origin);
    return { ...(certificate ? { certificate } : {}), ...(credentials ? { credentials } : {}) };
  };
}

function selectTargets(all: readonly TargetConfig[], names: readonly string[] | undefined): TargetConfig[] {
  if (!names || names.length === 0) return [...all];
  const unknown = names.filter((n) => !all.some((t) => t.name === n));
  if (unknown.length > 0) {
    // Names are counted, never repeated: what was typed may be a pasted secret.
    throw new UsageError(
      `--target: ${unknown.length === 1 ? "one name matches" : `${unknown.length} names match`} no configured target; configured: ${all.map((t) => t.name).join(", ")}`,
    );
  }
  return all.filter((t) => names.includes(t.name));
}
