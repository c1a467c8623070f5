import { styleText } from "node:util";
import { formatStatuses } from "../probes/classify.js";
import { PROBE_NAMES } from "../../probe-matrix/names.js";
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
 * How much of the run the table shows:
 * - `auto` (default): every row for a few targets; the summary beyond SUMMARY_VIEW_TARGETS.
 * - `full` (`--verbose`): every probe's row, its detail, cause and fix.
 * - `summary`: one cell per target with its probe matrix, a glyph a probe, then every target that
 *   did not pass expanded: its rows that did not pass, with cause and fix.
 * - `quiet` (`--quiet`): only the rows that did not pass, with cause and fix, and the final line.
 */
export type TableView = "auto" | "full" | "summary" | "quiet";

/** Beyond this many targets the default view is the summary: 4 x 12 rows no longer fit a screen. */
export const SUMMARY_VIEW_TARGETS = 3;

export interface TableViewOptions extends TableOptions {
  view?: TableView;
}

/** One glyph a probe in the summary's matrix, readable without colour (as test runners print them). */
export const OUTCOME_GLYPH: Record<Outcome, string> = {
  pass: ".",
  fail: "F",
  security: "S",
  error: "E",
  blocked: "B",
  skipped: "-",
};

/**
 * A readable rendering of the run, then the summary line. One layout rule at every width: a row's
 * detail follows its columns and continues, wrapped at spaces (never inside a URL or an identifier),
 * on indented lines under it; under a row that did not pass come the cause and the fix, in normal
 * weight (the lines the person paged at night needs most), once per target, cause and fix.
 */
export function renderTable(report: RunReport, options: TableViewOptions): string {
  const width = Math.max(40, options.width ?? DEFAULT_TABLE_WIDTH);
  const paint = (style: Style, text: string): string =>
    options.color ? styleText(style, text, { validateStream: false }) : text;
  const targets = [...new Set(report.results.map((r) => r.target))];
  const view =
    options.view === undefined || options.view === "auto"
      ? targets.length > SUMMARY_VIEW_TARGETS
        ? "summary"
        : "full"
      : options.view;
  // In the summary, a probe blocked by a failed prerequisite is its B in the matrix: the
  // prerequisite's own row says the cause, once.
  const shown =
    view === "full"
      ? report.results
      : report.results.filter(
          (r) => !passed(r) && !(view === "summary" && r.outcome === "blocked" && prerequisiteShown(r, report.results)),
        );
  const out = [
    ...(view === "summary" ? [...matrixLines(report, targets, width, paint), ...(shown.length > 0 ? [""] : [])] : []),
    ...(shown.length > 0 || view === "full" ? rowLines(shown, width, paint) : []),
  ];
  const s = report.summary;
  const counts = (Object.entries(s.byOutcome) as [Outcome, number][])
    .filter(([, n]) => n > 0)
    .map(([o, n]) => paint(OUTCOME_STYLE[o], `${n} ${o}`))
    .join(", ");
  const where = view === "full" ? "" : ` across ${targets.length} target${targets.length === 1 ? "" : "s"}`;
  const verdict = s.ok ? paint("green", "OK") : paint("red", s.nothingProven ? "NOTHING PROVEN" : "NOT OK");
  const why = s.nothingProven ? "; every probe was skipped, so nothing was proven (see the reasons above)" : "";
  out.push(
    ...(out.length > 0 ? [""] : []),
    `${verdict}: ${s.total} probes${where} in ${Math.round(s.durationMs)} ms (${counts || "none"})${why}`,
  );
  return `${out.join("\n")}\n`;
}

const passed = (r: ProbeResult): boolean => r.outcome === "pass" || r.outcome === "skipped";

/** Whether a blocked result's prerequisite (the same target's failed token probe, for `token`) has a row of its own. */
function prerequisiteShown(r: ProbeResult, results: readonly ProbeResult[]): boolean {
  if (r.blockedBy !== "token") return false;
  return results.some((o) => o.target === r.target && o.probe === "token" && !passed(o));
}

/** The table rows (header first) of `results`, each followed by its cause and fix once. */
function rowLines(
  results: readonly ProbeResult[],
  width: number,
  paint: (style: Style, text: string) => string,
): string[] {
  const rows = results.map((r) => [
    r.target,
    r.probe,
    r.outcome,
    expectedColumn(r),
    actualColumn(r),
    `${Math.round(r.durationMs)} ms`,
  ]);
  const widths = HEADER.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const cells = (values: readonly string[], outcome?: Outcome): string =>
    values
      .map(
        (c, i) =>
          `${i === 2 && outcome ? paint(OUTCOME_STYLE[outcome], c.padEnd(widths[i]!)) : c.padEnd(widths[i]!)}  `,
      )
      .join("");
  const fixedWidth = widths.reduce((sum, w) => sum + w + 2, 0);
  const out = [paint("bold", `${cells(HEADER)}detail`)];
  const explained = new Set<string>();
  rows.forEach((row, i) => {
    const r = results[i]!;
    const [first = "", ...rest] = wrap(detail(r), width, " ".repeat(fixedWidth), DETAIL_INDENT);
    out.push(`${cells(row, r.outcome)}${first.trimStart()}`.trimEnd(), ...rest);
    const d = r.diagnosis;
    if (!d || r.outcome === "skipped") return;
    // Same cause and same fix as a row above (probes blocked by one token failure, every probe let
    // in by a gateway with no token validation): said once.
    const key = `${r.target}\u0000${d.cause}\u0000${d.fix}`;
    if (explained.has(key)) return;
    explained.add(key);
    out.push(...diagnosisLines(d, width));
  });
  return out;
}

const DETAIL_INDENT = "    ";

/**
 * The summary's matrix: a cell per target (name, then a glyph a probe in the run's probe order),
 * packed in columns as `ls` packs names, so sixty targets take a screen's top third; a legend first.
 */
function matrixLines(
  report: RunReport,
  targets: readonly string[],
  width: number,
  paint: (style: Style, text: string) => string,
): string[] {
  const probes = PROBE_NAMES.filter((p) => report.results.some((r) => r.probe === p));
  const byTarget = new Map(
    targets.map((t) => [t, new Map(report.results.filter((r) => r.target === t).map((r) => [r.probe, r]))]),
  );
  const nameWidth = Math.max(...targets.map((t) => t.length));
  const cellWidth = nameWidth + 1 + probes.length + 3;
  const columns = Math.max(1, Math.floor((width + 3) / cellWidth));
  const rows = Math.ceil(targets.length / columns);
  const legend = (Object.entries(OUTCOME_GLYPH) as [Outcome, string][]).map(([o, g]) => `${g} ${o}`).join("  ");
  const lines = [
    ...wrap(`probes, in order: ${probes.join(" ")}`, width, "", "  "),
    ...wrap(legend, width, "", "  "),
    "",
  ].map((l) => paint("bold", l));
  for (let row = 0; row < rows; row++) {
    const cells: string[] = [];
    for (let col = 0; col < columns; col++) {
      const target = targets[col * rows + row];
      if (target === undefined) continue;
      const results = byTarget.get(target)!;
      const glyphs = probes.map((p) => {
        const r = results.get(p);
        return r ? paint(OUTCOME_STYLE[r.outcome], OUTCOME_GLYPH[r.outcome]) : " ";
      });
      cells.push(`${target.padEnd(nameWidth)} ${glyphs.join("")}`);
    }
    lines.push(cells.join("   ").trimEnd());
  }
  return lines;
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

/** The cause code with its summary, then the fix, each wrapped with a hanging indent; normal weight. */
function diagnosisLines(d: Diagnosis, width: number): string[] {
  const oneLine = (text: string): string => text.replace(/\s+/g, " ").trim();
  return [
    ...wrap(`-> ${d.cause}: ${oneLine(d.summary)}`, width, "  ", "     "),
    ...wrap(`fix: ${oneLine(d.fix)}`, width, "     ", "          "),
  ];
}

/**
 * Greedy word wrap to `width` columns, at spaces only: a word longer than a line (a URL, a GUID
 * list) stays whole on a line of its own rather than being cut where a reader would copy it.
 */
export function wrap(text: string, width: number, firstIndent: string, restIndent: string): string[] {
  const lines: string[] = [];
  let line = firstIndent;
  let empty = true;
  const next = (): void => {
    lines.push(line);
    line = restIndent;
    empty = true;
  };
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line.length + (empty ? 0 : 1) + word.length > width && !(empty && line === restIndent)) next();
    if (empty && line === restIndent && restIndent.length + word.length > width) {
      // Too long for an indented line: at the margin, so it is broken nowhere on a screen that wide.
      line = "";
    }
    line += empty ? word : ` ${word}`;
    empty = false;
  }
  if (!empty) lines.push(line);
  return lines;
}

/** What a progress line counts so far. */
export interface ProgressCounts {
  done: number;
  total: number;
  passed: number;
  /** fail, error and blocked. */
  failed: number;
  security: number;
}

/** `37/144 probes: 30 passed, 2 failed, 1 security`: what the run found so far, not the last probe's name. */
export function describeProgress(p: ProgressCounts): string {
  return `${p.done}/${p.total} probes: ${p.passed} passed, ${p.failed} failed, ${p.security} security`;
}

/** One progress line for a terminal, rewritten in place while a long run goes. */
export function renderProgress(p: ProgressCounts): string {
  return `\r\x1b[2K${describeProgress(p)}`;
}
