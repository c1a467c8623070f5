import type { Dispatcher } from "undici";
import { createOpenIdConfigResolver } from "../../policy/index.js";
import { createProbeDispatcher } from "../http/dispatcher.js";
import type { RunReport } from "../results/types.js";
import type { ProbeConfig } from "../settings/types.js";
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
}

export interface ProbeEngine {
  run(options?: RunOptions & { onProgress?: (event: ProgressEvent) => void }): Promise<RunReport>;
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
  const dispatcher = options.dispatcher ?? createProbeDispatcher({ extraCaPem: config.extraCaPem, connectTimeoutMs: config.timeoutMs });
  const now = options.now ?? Date.now;
  const tokens =
    options.tokens ??
    withSharedAcquisition(createMsalTokenSource(config, { dispatcher, ...(options.managedIdentity ? { managedIdentity: options.managedIdentity } : {}) }), { now });
  // Parsed once: a broken policy file is a start-up SettingsError, not a silent lack of preflight.
  const policies = loadTargetPolicies(config.targets);
  // Preflights fetch the policies' openid-config URLs as written, through the probe's own dispatcher.
  const openIdConfig = createOpenIdConfigResolver({ dispatcher, now });
  // The tenant's v2 metadata on the configured authority: where its signing keys are published.
  const signingKeys = new SigningKeyWatch(`${config.authorityHost}/${config.tenantId}/v2.0/.well-known/openid-configuration`, openIdConfig);
  const expiredTokens = new ExpiredTokenStore({ now, ...(options.expiredTokenMarginMs !== undefined ? { marginMs: options.expiredTokenMarginMs } : {}) });
  return {
    run: ({ onProgress, ...runOptions } = {}) =>
      runProbes(
        config,
        {
          dispatcher,
          now,
          tokens,
          expiredTokens,
          policies,
          openIdConfig,
          signingKeys,
          ...(options.diagnose !== undefined ? { diagnose: options.diagnose } : {}),
          ...(onProgress ? { onProgress } : {}),
        },
        runOptions,
      ),
    close: async () => {
      if (ownsDispatcher) await dispatcher.close();
    },
  };
}
