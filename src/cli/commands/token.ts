import { diagnose, observeError, type ProbeObservation } from "../../core/diagnosis/index.js";
import { TokenAcquisitionError, TransportError, UsageError } from "../../core/errors.js";
import { createProbeDispatcher } from "../../core/http/dispatcher.js";
import { clientCredentialsScope } from "../../core/settings/rules.js";
import type { ProbeConfig } from "../../core/settings/types.js";
import { summarizeToken } from "../../core/tokens/summary.js";
import { createMsalTokenSource } from "../../core/tokens/token-source.js";
import { parseCommandArgs } from "../args.js";
import { EXIT_NOT_OK, EXIT_OK, type Command } from "../io.js";
import { loadCliConfig, SETTINGS_FILE_OPTIONS } from "../load-config.js";
import { lendIdentityEndpoint } from "../identity-endpoint.js";

/**
 * `apim-smoke token [--scope S] [--raw]`: acquire the probe's token and print its decoded summary
 * (aud, iss, ver, client, roles, exp, kid, alg). The token itself is printed only with --raw, alone
 * on stdout, for piping into another tool. A refusal gets the same cause and fix as `run`'s token probe.
 */
export const tokenCommand: Command = {
  summary: "acquire the probe's token and print its summary (the token itself only with --raw)",
  usage: "usage: apim-smoke token [--scope SCOPE] [--raw] [--settings-file FILE]",
  async run(args, io) {
    const values = parseCommandArgs(args, {
      scope: { type: "string" },
      raw: { type: "boolean" },
      ...SETTINGS_FILE_OPTIONS,
    });
    const { env, config } = await loadCliConfig(io, values);
    const scope = values.scope ?? config.targets[0]?.scope;
    if (!scope) throw new UsageError("--scope is required when no target is configured");
    if (!clientCredentialsScope.safeParse(scope).success)
      throw new UsageError("--scope must be the resource followed by /.default");
    const dispatcher =
      io.dispatcher ?? createProbeDispatcher({ extraCaPem: config.extraCaPem, connectTimeoutMs: config.timeoutMs });
    const restoreIdentity = lendIdentityEndpoint(env);
    try {
      const token = await createMsalTokenSource(config, { dispatcher }).acquire("probe", scope);
      if (values.raw) io.stdout.write(`${token.accessToken.reveal()}\n`);
      else
        io.stdout.write(
          `${JSON.stringify({ scope, fromCache: token.fromCache, token: summarizeToken(token.accessToken.reveal()) }, null, 2)}\n`,
        );
      return EXIT_OK;
    } catch (error) {
      if (!(error instanceof TokenAcquisitionError || error instanceof TransportError)) throw error;
      const d = diagnose(tokenObservation(error, config, scope));
      io.stderr.write(`apim-smoke token: ${error.message}\n`);
      if (d) io.stderr.write(`  -> ${d.cause}: ${d.summary}\n     fix: ${d.fix}\n`);
      return EXIT_NOT_OK;
    } finally {
      restoreIdentity();
      if (!io.dispatcher) await dispatcher.close();
    }
  },
};

/** What `run`'s token probe would have observed for this failure: the same diagnosis follows. */
function tokenObservation(
  error: TokenAcquisitionError | TransportError,
  config: ProbeConfig,
  scope: string,
): ProbeObservation {
  const status = error instanceof TokenAcquisitionError ? error.details.status : undefined;
  return {
    probe: "token",
    outcome: error instanceof TransportError ? "error" : "fail",
    expectedStatuses: [],
    ...(status !== undefined ? { actualStatus: status } : {}),
    ...observeError(error),
    clientId: config.clientId,
    scope,
    tenant: config.tenantId,
    ...(config.credential.kind === "secret" ? { secretSetting: "PROBE_CLIENT_SECRET" } : {}),
  };
}
