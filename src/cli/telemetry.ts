import type { RunReport } from "../core/results/types.js";
import type { ProbeConfig } from "../core/settings/types.js";
import type { Outbox } from "../core/state/index.js";
import type { AvailabilityReporter, TelemetryOutcome } from "../core/telemetry/index.js";
import { debugStep } from "../core/debug.js";
import type { CliIo } from "./io.js";

export const CONNECTION_STRING_SETTING = "APPLICATIONINSIGHTS_CONNECTION_STRING";

export interface Telemetry {
  /**
   * Sends the run's availability results (and the outbox's, first), says on stderr what became of
   * them and why any were not accepted, and sets `report.delivery`. Resolves to whether the run
   * needs attention: results lost (neither accepted nor kept, or evicted) or a damaged state set aside.
   */
  send(
    report: RunReport,
    config: ProbeConfig,
    io: CliIo,
    outbox?: Outbox,
  ): Promise<{ needsAttention: boolean; outcome: TelemetryOutcome }>;
  close(): Promise<void>;
}

/**
 * Availability results when APPLICATIONINSIGHTS_CONNECTION_STRING is set. The telemetry
 * module is imported only then: `applicationinsights` costs about 1 s and 130 MB to load (docs/REFERENCE.md §4).
 */
export function createCliTelemetry(
  env: Readonly<Record<string, string | undefined>>,
  config: ProbeConfig,
): Telemetry | undefined {
  const connectionString = env[CONNECTION_STRING_SETTING];
  if (!connectionString) return undefined;
  let reporter: Promise<AvailabilityReporter> | undefined;
  const telemetryModule = () => import("../core/telemetry/index.js");
  const getReporter = () =>
    (reporter ??= telemetryModule().then(({ createAvailabilityReporter, ingestionTrustedCa }) => {
      const trustedCaPem = ingestionTrustedCa(connectionString, config.extraCaPem);
      return createAvailabilityReporter({
        connectionString,
        runLocation: config.runLocation ?? "cli",
        ...(trustedCaPem ? { trustedCaPem } : {}),
        ...(config.ingestionAuth ? { ingestionAuth: config.ingestionAuth } : {}),
      });
    }));
  return {
    async send(report, _config, io, outbox) {
      const outcome = await (await getReporter()).report(report, outbox ? { outbox } : {});
      const { describeDelivery, deliveryProblemLines, deliveryReport, deliveryNeedsAttention } =
        await telemetryModule();
      io.stderr.write(`${describeDelivery(outcome, "kept nowhere: pass --state-dir to keep them")}\n`);
      for (const line of deliveryProblemLines(outcome)) io.stderr.write(`${line}\n`);
      if (outcome.tracked > 0 || outcome.outbox) report.delivery = deliveryReport(outcome);
      debugStep("delivery", { ...deliveryReport(outcome) });
      return { needsAttention: deliveryNeedsAttention(outcome), outcome };
    },
    async close() {
      if (reporter) await (await reporter).shutdown();
    },
  };
}
