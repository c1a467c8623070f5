import { createProbeDispatcher } from "../../core/http/dispatcher.js";
import { summarizeToken } from "../../core/tokens/summary.js";
import { createMsalTokenSource } from "../../core/tokens/token-source.js";
import { clientCredentialsScope } from "../../core/settings/rules.js";
import { UsageError } from "../../core/errors.js";
import { parseCommandArgs } from "../args.js";
import { EXIT_OK, type Command } from "../io.js";
import { loadCliConfig } from "../load-config.js";

/**
 * `apim-smoke token [--scope S] [--raw]`: acquire the probe's token and print its decoded summary
 * (aud, iss, ver, client, roles, exp, kid, alg). The token itself is printed only with --raw, alone
 * on stdout, for piping into another tool.
 */
export const tokenCommand: Command = {
  summary: "acquire the probe's token and print its summary (the token itself only with --raw)",
  usage: "usage: apim-smoke token [--scope SCOPE] [--raw] [--env-file FILE]",
  async run(args, io) {
    const values = parseCommandArgs(args, { scope: { type: "string" }, raw: { type: "boolean" }, "env-file": { type: "string" } });
    const { config } = await loadCliConfig(io, values["env-file"]);
    const scope = values.scope ?? config.targets[0]?.scope;
    if (!scope) throw new UsageError("--scope is required when no target is configured");
    if (!clientCredentialsScope.safeParse(scope).success) throw new UsageError("--scope must be the resource followed by /.default");
    const dispatcher = io.dispatcher ?? createProbeDispatcher({ extraCaPem: config.extraCaPem, connectTimeoutMs: config.timeoutMs });
    try {
      const token = await createMsalTokenSource(config, { dispatcher }).acquire("probe", scope);
      if (values.raw) io.stdout.write(`${token.accessToken.reveal()}\n`);
      else io.stdout.write(`${JSON.stringify({ scope, fromCache: token.fromCache, token: summarizeToken(token.accessToken.reveal()) }, null, 2)}\n`);
      return EXIT_OK;
    } finally {
      if (!io.dispatcher) await dispatcher.close();
    }
  },
};
