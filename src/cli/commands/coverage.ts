import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { coverageOf, openUnaccepted, unguarded, type CoverageRow, type CoverageTarget } from "../../apiops/coverage.js";
import { ApiopsFolderError, readApiopsFolder } from "../../apiops/folder.js";
import { UsageError } from "../../core/errors.js";
import { displayPath } from "../../core/settings/looks-like-secret.js";
import { PolicyError } from "../../policy/index.js";
import { parseCommandArgs } from "../args.js";
import { EXIT_NOT_OK, EXIT_OK, EXIT_USAGE, type Command } from "../io.js";
import { wrapText } from "../wrap.js";

const OPTIONS = {
  apiops: { type: "string" },
  targets: { type: "string" },
  product: { type: "string" },
  format: { type: "string" },
} as const;

/**
 * `apim-smoke coverage --apiops DIR [--targets FILE]`: per API and operation of the folder, whether
 * it is probed, where its token is validated (scope, file, line) or that nothing validates it,
 * whether a subscription is required, and whether an ip-filter or rate limit stands. Exit 1 when any
 * API is reachable without token validation and no target accepts it as open by design (acceptOpen),
 * else 0; 2 for input that cannot be read. Accepted-open APIs are listed apart, with their reasons.
 */
export const coverageCommand: Command = {
  summary:
    "per API and operation of an APIOps folder: probed or not, token validation where, subscription, ip-filter, rate limit",
  usage: "usage: apim-smoke coverage --apiops DIR [--targets FILE] [--product P] [--format table|json]",
  async run(args, io) {
    const values = parseCommandArgs(args, OPTIONS);
    if (values.apiops === undefined) throw new UsageError("--apiops DIR is required");
    const format = values.format ?? "table";
    if (format !== "table" && format !== "json") throw new UsageError("--format must be table or json");
    let targets: CoverageTarget[] = [];
    if (values.targets !== undefined) {
      try {
        const doc = JSON.parse(await readFile(resolve(io.cwd, values.targets), "utf8")) as {
          targets?: { url?: unknown; apiopsApi?: unknown; acceptOpen?: unknown }[];
        };
        targets = (doc.targets ?? [])
          .filter((t) => typeof t.url === "string")
          .map((t) => ({
            url: t.url as string,
            ...(typeof t.apiopsApi === "string" ? { apiopsApi: t.apiopsApi } : {}),
            ...(typeof t.acceptOpen === "string" && t.acceptOpen.trim() ? { acceptOpen: t.acceptOpen.trim() } : {}),
          }));
      } catch {
        io.stderr.write(
          `apim-smoke coverage: --targets ${displayPath(values.targets)} cannot be read as a targets file\n`,
        );
        return EXIT_USAGE;
      }
    }
    let rows: CoverageRow[];
    try {
      rows = coverageOf(
        readApiopsFolder(resolve(io.cwd, values.apiops)),
        targets,
        values.product ? { product: values.product } : {},
      );
    } catch (error) {
      if (!(error instanceof ApiopsFolderError || error instanceof PolicyError)) throw error;
      io.stderr.write(`apim-smoke coverage: ${error.message}\n`);
      return EXIT_USAGE;
    }
    io.stdout.write(format === "json" ? `${JSON.stringify({ rows }, null, 2)}\n` : renderRows(rows, io.stdout.columns));
    return rows.some(openUnaccepted) ? EXIT_NOT_OK : EXIT_OK;
  },
};

/**
 * Per operation a block, wrapped to the terminal's width; token validation names scope, file and
 * line. Operations a target accepts as open by design are listed apart, with their reasons.
 */
function renderRows(rows: readonly CoverageRow[], width: number | undefined): string {
  const accepted = rows.filter((r) => unguarded(r) && r.acceptedOpen !== undefined);
  const lines = rows
    .filter((r) => !accepted.includes(r))
    .map((r) =>
      [
        wrapText(`${r.api} ${r.operation}`, width, 2, ""),
        wrapText(
          `probed: ${r.probed ? "yes" : "no"}; subscription: ${r.subscriptionRequired ? "required" : "not required"}${r.ipFiltered ? "; ip-filtered" : ""}${r.rateLimited ? "; rate limited" : ""}`,
          width,
          4,
          "  ",
        ),
        wrapText(
          `token validation: ${r.tokenValidation.length === 0 ? "NONE: reachable without a token" : r.tokenValidation.join("; ")}${r.conditionalOnly ? " (conditional only: reachable without a token on the other branches)" : ""}`,
          width,
          4,
          "  ",
        ),
      ].join("\n"),
    );
  const open = rows.filter(openUnaccepted).length;
  const acceptedLines =
    accepted.length === 0
      ? ""
      : `\n\naccepted as open by design (acceptOpen in the targets file):\n${accepted.map((r) => wrapText(`${r.api} ${r.operation}: ${r.acceptedOpen ?? ""}`, width, 2, "")).join("\n")}`;
  const totals = `${rows.length} operation(s), ${rows.filter((r) => r.probed).length} probed, ${open} without token validation${accepted.length > 0 ? `, ${accepted.length} accepted as open` : ""}`;
  return `${lines.join("\n")}${acceptedLines}\n\n${wrapText(totals, width, 0, "")}\n`;
}
