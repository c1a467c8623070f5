import { expect } from "vitest";
import type { RunReport } from "../../src/core/results/types.js";
import type { AvailabilityEnvelope } from "../../src/sandbox/ingestion/index.js";
import { durationToMs, schemaValid } from "./fixtures.js";

/**
 * The contract between a run and what ingestion received (docs/ARCHITECTURE.md "Published
 * names"): one schema-valid AvailabilityData per probe that ran, none for skipped ones, named
 * `<target>/<probe>`, a success flag that is true only for `pass`, and the published properties.
 */
export function expectEnvelopesMatchReport(envelopes: readonly AvailabilityEnvelope[], report: RunReport): void {
  expect(schemaValid(envelopes)).toBe(true);
  const ran = report.results.filter((r) => r.outcome !== "skipped");
  expect(envelopes).toHaveLength(ran.length);

  const byName = new Map(envelopes.map((e) => [e.data.baseData.name, e.data.baseData]));
  expect([...byName.keys()].sort()).toEqual(ran.map((r) => `${r.target}/${r.probe}`).sort());

  for (const result of ran) {
    const data = byName.get(`${result.target}/${result.probe}`)!;
    expect(data.success, data.name).toBe(result.outcome === "pass");
    expect(data.properties, data.name).toMatchObject({
      target: result.target,
      probe: result.probe,
      outcome: result.outcome,
      trigger: report.trigger,
      runId: report.runId,
      ...(result.expectedStatuses.length > 0 ? { expectedStatus: result.expectedStatuses.join(",") } : {}),
      ...(result.actualStatus !== undefined ? { actualStatus: String(result.actualStatus) } : {}),
      ...(report.source !== undefined ? { source: report.source } : {}),
    });
    if (result.actualStatus === undefined) expect(data.properties).not.toHaveProperty("actualStatus");
    if (report.source === undefined) expect(data.properties).not.toHaveProperty("source");
    // Whole milliseconds on the wire (the reporter rounds); the measurement keeps the exact value.
    expect(Math.abs(durationToMs(data.duration) - result.durationMs), data.name).toBeLessThanOrEqual(1);
    expect(data.measurements?.["durationMs"], data.name).toBeCloseTo(result.durationMs, 3);
  }
}
