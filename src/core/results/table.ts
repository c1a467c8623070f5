import { styleText } from "node:util";
import { formatStatuses } from "../probes/classify.js";
import type { Diagnosis, Outcome, ProbeResult, RunReport } from "./types.js";

type Style = Parameters<typeof styleText>[0];

const OUTCOME_STYLE: Record<Outcome, Style> = {
  pass: "green",
  fail: "red",
  security: ["bgRed", "white", "bold"],
  error: "yellow",
  blocked: "magenta",
  skipped: "gray",
};

/** Colours only for a terminal (issue 3); pipes and files get plain text. */
export interface TableOptions {
  color: boolean;
}

/** A readable table of the run: one row per probe, then the summary line. */
export function renderTable(report: RunReport, options: TableOptions): string {
  const paint = (style: Style, text: string): string => (options.color ? styleText(style, text, { validateStream: false }) : text);
  const rows = report.results.map((r) => [
    r.target,
    r.probe,
    r.outcome,
    r.probe === "token" ? "token" : formatStatuses(r.expectedStatuses),
    r.actualStatus?.toString() ?? "-",
    `${Math.round(r.durationMs)} ms`,
    detail(r),
  ]);
  const header = ["target", "probe", "outcome", "expected", "actual", "time", "detail"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[], outcome?: Outcome): string =>
    cells
      .map((c, i) => {
        const padded = i === cells.length - 1 ? c : c.padEnd(widths[i]!);
        return i === 2 && outcome ? paint(OUTCOME_STYLE[outcome], padded) : padded;
      })
      .join("  ")
      .trimEnd();
  const out = [paint("bold", line(header))];
  rows.forEach((row, i) => {
    const r = report.results[i]!;
    out.push(line(row, r.outcome));
    // Under a row that did not pass: what is wrong and what to change, for the person paged at night.
    if (r.diagnosis && r.outcome !== "skipped") out.push(...diagnosisLines(r.diagnosis).map((l) => paint("dim", l)));
  });
  const s = report.summary;
  const counts = (Object.entries(s.byOutcome) as [Outcome, number][])
    .filter(([, n]) => n > 0)
    .map(([o, n]) => paint(OUTCOME_STYLE[o], `${n} ${o}`))
    .join(", ");
  out.push("", `${s.ok ? paint("green", "OK") : paint("red", "NOT OK")}: ${s.total} probes in ${Math.round(s.durationMs)} ms (${counts || "none"})`);
  return `${out.join("\n")}\n`;
}

function detail(r: ProbeResult): string {
  const parts = [r.message];
  if (r.requestId) parts.push(`request id ${r.requestId}`);
  return parts.join("; ").replace(/\s+/g, " ");
}

/** Two indented lines: the cause code with its one-line summary, then the fix. */
function diagnosisLines(d: Diagnosis): string[] {
  const oneLine = (text: string): string => text.replace(/\s+/g, " ").trim();
  return [`  -> ${d.cause}: ${oneLine(d.summary)}`, `     fix: ${oneLine(d.fix)}`];
}

/** One progress line for a terminal, rewritten in place while a long run goes. */
export function renderProgress(done: number, total: number, last: ProbeResult): string {
  return `\r\x1b[2K${done}/${total} ${last.target}/${last.probe}: ${last.outcome}`;
}
