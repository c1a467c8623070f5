import type { Dispatcher } from "undici";
import { createOpenIdConfigResolver } from "../../policy/index.js";
import { createProbeConnections } from "../http/dispatcher.js";
import type { RunReport } from "../results/types.js";
import type { ProbeConfig } from "../settings/types.js";
import type { ProbeState } from "../state/probe-state.js";
import { TokenHistory } from "../tokens/drift.js";
import { SigningKeyWatch } from "../tokens/signing-key-watch.js";
import { ExpiredTokenStore } from "../tokens/expired-token-store.js";
import { withSharedAcquisition } from "../tokens/shared-acquisition.js";
import { createMsalTokenSource, type AssertionCredential, type TokenSource } from "../tokens/token-source.js";
import { runProbes, type Diagnoser, type ProgressEvent, type RunOptions } from "./runner.js";
import { loadTargetPolicies } from "./target-policy.js";

export interface ProbeEngineOptions {
  /** Default: createProbeDispatcher with the settings' extra CA (NODE_EXTRA_CA_CERTS). */
  dispatcher?: Dispatcher;
  now?: () => number;
  tokens?: TokenSource;
  managedIdentity?: AssertionCredential;
  /** Default: the built-in diagnosis of every result; a custom one, or `false` for none. */
  diagnose?: Diagnoser | false;
  /** How long past exp a harvested token waits before the expired-token probe uses it. Default 60 s. */
  expiredTokenMarginMs?: number;
  /**
   * Where the harvest and the last token summaries outlive the process: loaded before
   * each run, saved after it. Without it they live in this process's memory.
   */
  state?: ProbeState;
}

export interface ProbeEngine {
  /**
   * `onStateProblem` hears of a state that could not be read or written (the run goes on from
   * memory): per run, so a Functions invocation logs its own problems to its own log.
   */
  run(
    options?: RunOptions & { onProgress?: (event: ProgressEvent) => void; onStateProblem?: (problem: string) => void },
  ): Promise<RunReport>;
  /** Closes the dispatcher if the engine created it. */
  close(): Promise<void>;
}

/**
 * The long-lived state of a probing process: one dispatcher, one MSAL app per client (warm token
 * cache) and the expired-token store. Create one per process (module scope in Azure Functions, one
 * per `watch`) and call `run` per tick.
 */
export function createProbeEngine(config: ProbeConfig, options: ProbeEngineOptions = {}): ProbeEngine {
  const ownsDispatcher = !options.dispatcher;
  const now = options.now ?? Date.now;
  // The probe's own connections record the certificates they are shown, for tls-certificate.
  const connections = options.dispatcher
    ? undefined
    : createProbeConnections({ extraCaPem: config.extraCaPem, connectTimeoutMs: config.timeoutMs, now });
  const dispatcher = options.dispatcher ?? connections!.dispatcher;
  const tokens =
    options.tokens ??
    withSharedAcquisition(
      createMsalTokenSource(config, {
        dispatcher,
        ...(options.managedIdentity ? { managedIdentity: options.managedIdentity } : {}),
      }),
      { now },
    );
  // Parsed once: a broken policy file is a start-up SettingsError, not a silent lack of preflight.
  const policies = loadTargetPolicies(config.targets);
  // Preflights fetch the policies' openid-config URLs as written, through the probe's own dispatcher.
  const openIdConfig = createOpenIdConfigResolver({ dispatcher, now });
  // The tenant's v2 metadata on the configured authority: where its signing keys are published.
  const signingKeys = new SigningKeyWatch(
    `${config.authorityHost}/${config.tenantId}/v2.0/.well-known/openid-configuration`,
    openIdConfig,
  );
  const expiredTokens = new ExpiredTokenStore({
    now,
    ...(options.expiredTokenMarginMs !== undefined ? { marginMs: options.expiredTokenMarginMs } : {}),
  });
  const tokenHistory = new TokenHistory();
  const { state } = options;
  return {
    run: async ({ onProgress, onStateProblem, ...runOptions } = {}) => {
      const guarded = async (what: string, step: () => Promise<void>): Promise<void> => {
        try {
          await step();
        } catch (error) {
          onStateProblem?.(`${what}: ${error instanceof Error ? error.message : "unknown error"}`);
        }
      };
      if (state) {
        await guarded("the expired-token harvest could not be read", () => state.loadHarvest(expiredTokens));
        await guarded("the last token summaries could not be read", () => state.loadTokenHistory(tokenHistory));
      } else {
        tokenHistory.begin(undefined);
      }
      const report = await runProbes(
        config,
        {
          dispatcher,
          now,
          tokens,
          expiredTokens,
          policies,
          openIdConfig,
          signingKeys,
          tokenHistory,
          ...(connections ? { certificates: connections.certificates } : {}),
          ...(options.diagnose !== undefined ? { diagnose: options.diagnose } : {}),
          ...(onProgress ? { onProgress } : {}),
        },
        runOptions,
      );
      if (state) {
        await guarded("the expired-token harvest could not be saved", () => state.saveHarvest(expiredTokens));
        await guarded("the token summaries could not be saved", () => state.saveTokenHistory(tokenHistory));
      }
      return report;
    },
    close: async () => {
      if (ownsDispatcher) await closeDispatcher(dispatcher);
    },
  };
}

/** How long a graceful close may wait for requests still on the pool before their sockets are destroyed. */
const CLOSE_GRACE_MS = 1_000;

/**
 * Closes gracefully, then destroys what is left: `close()` waits for every request on the pool, and
 * one that never settles (see watchdog.ts) would make the caller wait forever.
 */
async function closeDispatcher(dispatcher: Dispatcher): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const graceful = await Promise.race([
    dispatcher.close().then(() => true),
    new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), CLOSE_GRACE_MS))),
  ]).finally(() => clearTimeout(timer));
  if (!graceful) await dispatcher.destroy().catch(() => undefined);
}
