import { MB } from "./memory.js";

export type Verdict = "PASS" | "MISS";

export const verdict = (ok: boolean): Verdict => (ok ? "PASS" : "MISS");

export const ms = (value: number): string =>
  value >= 10_000 ? `${(value / 1000).toFixed(1)} s` : `${value.toFixed(value < 10 ? 2 : 0)} ms`;
export const mb = (bytes: number): string => `${(bytes / MB).toFixed(0)} MB`;
export const ratio = (value: number): string => value.toFixed(2);

/** One figure: `[n] title: measured ...; ideal/target ...: PASS|MISS`, plus indented detail lines. */
export interface FigureLine {
  id: number;
  title: string;
  measured: string;
  target: string;
  verdicts: Verdict[];
  details?: string[];
}

export function formatFigure(line: FigureLine): string {
  const overall = line.verdicts.every((v) => v === "PASS") ? "PASS" : "MISS";
  return [
    `[${line.id}] ${line.title}: ${line.measured} | ${line.target} | ${overall}`,
    ...(line.details ?? []).map((d) => `    ${d}`),
  ].join("\n");
}
