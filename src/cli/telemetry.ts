import type { RunReport } from "../core/results/types.js";
import type { ProbeConfig } from "../core/settings/types.js";
import type { AvailabilityReporter } from "../core/telemetry/index.js";
import type { CliIo } from "./io.js";

export const CONNECTION_STRING_SETTING = "APPLICATIONINSIGHTS_CONNECTION_STRING";

export interface Telemetry {
  /** Sends the run's availability results; resolves to how many ingestion did not accept. */
  send(report: RunReport, config: ProbeConfig, io: CliIo): Promise<number>;
  close(): Promise<void>;
}

/**
 * Availability results when APPLICATIONINSIGHTS_CONNECTION_STRING is set (issue 3). The telemetry
 * module is imported only then: `applicationinsights` costs about 1 s and 130 MB to load (FACTS.md 4).
 */
export function createCliTelemetry(env: Readonly<Record<string, string | undefined>>, config: ProbeConfig): Telemetry | undefined {
  const connectionString = env[CONNECTION_STRING_SETTING];
  if (!connectionString) return undefined;
  let reporter: Promise<AvailabilityReporter> | undefined;
  const getReporter = () =>
    (reporter ??= import("../core/telemetry/index.js").then(({ createAvailabilityReporter, ingestionTrustedCa }) => {
      const trustedCaPem = ingestionTrustedCa(connectionString, config.extraCaPem);
      return createAvailabilityReporter({ connectionString, runLocation: config.runLocation ?? "cli", ...(trustedCaPem ? { trustedCaPem } : {}) });
    }));
  return {
    async send(report, _config, io) {
      const outcome = await (await getReporter()).report(report);
      io.stderr.write(
        `availability: ${outcome.accepted}/${outcome.tracked} results accepted by ingestion${outcome.notAccepted.length ? `, ${outcome.notAccepted.length} not accepted and lost (kept nowhere)` : ""}\n`,
      );
      return outcome.notAccepted.length;
    },
    async close() {
      if (reporter) await (await reporter).shutdown();
    },
  };
}
