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

/** Where pipes and files have no width of their own: wide enough for a CI log, narrow enough to read. */
export const DEFAULT_TABLE_WIDTH = 100;

export interface TableOptions {
  /** ANSI colours; the CLI decides from the terminal and NO_COLOR / FORCE_COLOR / TERM (`colorFor`). */
  color: boolean;
  /** Columns to fit in; default DEFAULT_TABLE_WIDTH. Text longer than that wraps under its row. */
  width?: number;
}

/**
 * Whether to colour output for a stream, by the conventions users set once for every tool:
 * NO_COLOR (any value: no colour, https://no-color.org), FORCE_COLOR (0/false: none, else colour
 * even into a pipe), TERM=dumb (none); otherwise colour only on a terminal.
 */
export function colorFor(stream: { isTTY?: boolean }, env: Readonly<Record<string, string | undefined>>): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== "") return false;
  const force = env.FORCE_COLOR;
  if (force !== undefined) return !(force === "0" || force.toLowerCase() === "false");
  if (env.TERM === "dumb") return false;
  return stream.isTTY === true;
}

const HEADER = ["target", "probe", "outcome", "expected", "actual", "time"] as const;

/**
 * A readable table of the run, one row per probe, then the summary line. The detail goes after the
 * row when it fits the width, else under the row, wrapped; under a row that did not pass come the
 * cause and the fix, once per target, cause and fix (a dozen probes blocked by one bad secret say so once).
 */
export function renderTable(report: RunReport, options: TableOptions): string {
  const width = Math.max(40, options.width ?? DEFAULT_TABLE_WIDTH);
  const paint = (style: Style, text: string): string => (options.color ? styleText(style, text, { validateStream: false }) : text);
  const rows = report.results.map((r) => [r.target, r.probe, r.outcome, expectedColumn(r), actualColumn(r), `${Math.round(r.durationMs)} ms`]);
  const widths = HEADER.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const cells = (values: readonly string[], outcome?: Outcome): string =>
    values.map((c, i) => `${i === 2 && outcome ? paint(OUTCOME_STYLE[outcome], c.padEnd(widths[i]!)) : c.padEnd(widths[i]!)}  `).join("");
  const fixedWidth = widths.reduce((sum, w) => sum + w + 2, 0);

  const out = [paint("bold", `${cells(HEADER)}${fixedWidth + "detail".length <= width ? "detail" : ""}`.trimEnd())];
  const explained = new Set<string>();
  rows.forEach((row, i) => {
    const r = report.results[i]!;
    const text = detail(r);
    if (fixedWidth + text.length <= width) out.push(`${cells(row, r.outcome)}${text}`.trimEnd());
    else out.push(cells(row, r.outcome).trimEnd(), ...wrap(text, width, "    ", "    "));
    // For the person paged at night: what is wrong and what to change, once per cause.
    const d = r.diagnosis;
    if (!d || r.outcome === "skipped") return;
    // Same cause and same fix as a row above (probes blocked by one token failure, every probe let
    // in by a gateway with no token validation): said once.
    const key = `${r.target}\u0000${d.cause}\u0000${d.fix}`;
    if (explained.has(key)) return;
    explained.add(key);
    out.push(...diagnosisLines(d, width).map((l) => paint("dim", l)));
  });
  const s = report.summary;
  const counts = (Object.entries(s.byOutcome) as [Outcome, number][])
    .filter(([, n]) => n > 0)
    .map(([o, n]) => paint(OUTCOME_STYLE[o], `${n} ${o}`))
    .join(", ");
  const verdict = s.ok ? paint("green", "OK") : paint("red", s.nothingProven ? "NOTHING PROVEN" : "NOT OK");
  const why = s.nothingProven ? "; every probe was skipped, so nothing was proven (see the reasons above)" : "";
  out.push("", `${verdict}: ${s.total} probes in ${Math.round(s.durationMs)} ms (${counts || "none"})${why}`);
  return `${out.join("\n")}\n`;
}

function expectedColumn(r: ProbeResult): string {
  if (r.probe === "token") return "token";
  const statuses = formatStatuses(r.expectedStatuses);
  return statuses;
}

/** The API's status; "refused" when Entra refused the token and no API call was made (the detail says which code). */
function actualColumn(r: ProbeResult): string {
  if (r.actualStatus !== undefined) return String(r.actualStatus);
  if (r.outcome !== "blocked" && r.cause?.startsWith("AADSTS")) return "refused";
  return "-";
}

function detail(r: ProbeResult): string {
  const parts = [r.message];
  if (r.requestId) parts.push(`request id ${r.requestId}`);
  return parts.join("; ").replace(/\s+/g, " ");
}

/** The cause code with its summary, then the fix, each wrapped with a hanging indent. */
function diagnosisLines(d: Diagnosis, width: number): string[] {
  const oneLine = (text: string): string => text.replace(/\s+/g, " ").trim();
  return [...wrap(`-> ${d.cause}: ${oneLine(d.summary)}`, width, "  ", "     "), ...wrap(`fix: ${oneLine(d.fix)}`, width, "     ", "          ")];
}

/**
 * Greedy word wrap to `width` columns; a word longer than a line (a URL, a GUID list) stays whole
 * rather than being cut where a reader would copy it.
 */
export function wrap(text: string, width: number, firstIndent: string, restIndent: string): string[] {
  const lines: string[] = [];
  let line = firstIndent;
  let empty = true;
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (!empty && line.length + 1 + word.length > width) {
      lines.push(line);
      line = restIndent;
      empty = true;
    }
    line += empty ? word : ` ${word}`;
    empty = false;
  }
  if (!empty) lines.push(line);
  return lines;
}

/** One progress line for a terminal, rewritten in place while a long run goes. */
export function renderProgress(done: number, total: number, last: ProbeResult): string {
  return `\r\x1b[2K${done}/${total} ${last.target}/${last.probe}: ${last.outcome}`;
}
