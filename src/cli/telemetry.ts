import type { RunReport } from "../core/results/types.js";
import type { ProbeConfig } from "../core/settings/types.js";
import type { Outbox } from "../core/state/index.js";
import type { AvailabilityReporter, TelemetryOutcome } from "../core/telemetry/index.js";
import type { CliIo } from "./io.js";

export const CONNECTION_STRING_SETTING = "APPLICATIONINSIGHTS_CONNECTION_STRING";

export interface Telemetry {
  /** Sends the run's availability results (and the outbox's, first); resolves to how many were lost: neither accepted nor kept. */
  send(report: RunReport, config: ProbeConfig, io: CliIo, outbox?: Outbox): Promise<number>;
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
      io.stderr.write(`${describeOutcome(outcome)}\n`);
      return outcome.notAccepted.filter((r) => !r.kept).length;
    },
    async close() {
      if (reporter) await (await reporter).shutdown();
    },
  };
}

/**
 * `availability: 8/10 results accepted by ingestion, 2 kept in state dir ./state for a later run;
 * 10 from earlier runs delivered`. Lost results are said to be lost: the exit code says it too.
 */
export function describeOutcome(outcome: TelemetryOutcome): string {
  const kept = outcome.notAccepted.filter((r) => r.kept).length;
  const lost = outcome.notAccepted.length - kept;
  const parts = [`availability: ${outcome.accepted}/${outcome.tracked} results accepted by ingestion`];
  if (kept > 0) parts.push(`${kept} kept in ${outcome.outbox?.description ?? "the state"} for a later run`);
  if (lost > 0) parts.push(`${lost} not accepted and lost (${outcome.outbox ? "could not be kept" : "kept nowhere: pass --state-dir to keep them"})`);
  let line = parts.join(", ");
  const earlier = outcome.outbox?.earlier;
  if (earlier && earlier.delivered + earlier.refused + earlier.tooOld > 0) {
    const said = [
      earlier.delivered > 0 ? `${earlier.delivered} delivered` : "",
      earlier.refused > 0 ? `${earlier.refused} refused and dropped` : "",
      earlier.tooOld > 0 ? `${earlier.tooOld} too old and dropped` : "",
    ].filter(Boolean);
    line += `; from earlier runs: ${said.join(", ")}`;
  }
  if (outcome.outbox && outcome.outbox.pending > 0) line += `; ${outcome.outbox.pending} waiting in the outbox`;
  return line;
}
