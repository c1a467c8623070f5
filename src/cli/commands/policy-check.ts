import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { PolicyError, UsageError } from "../../core/errors.js";
import { displayPath } from "../../core/settings/looks-like-secret.js";
import { lintPolicy, type LintContext, type LintFinding } from "../../policy/lint/index.js";
import { EXIT_NOT_OK, EXIT_OK, EXIT_USAGE, type CliIo, type Command } from "../io.js";

const OPTIONS = {
  "token-version": { type: "string" },
  "tenant-id": { type: "string" },
  "api-client-id": { type: "string" },
  "app-id-uri": { type: "string" },
  format: { type: "string" },
} as const;

const USAGE = "usage: apim-smoke policy check FILE [--token-version 1|2] [--tenant-id ID] [--api-client-id ID] [--app-id-uri URI] [--format text|json]";

/**
 * `apim-smoke policy check FILE`: lints a validate-jwt policy offline. Exit 0 when no error-level
 * finding, 1 when any, 2 when the file cannot be read or parsed (the message names the element).
 * `--tenant-id` defaults to PROBE_TENANT_ID.
 */
export const policyCommand: Command = {
  summary: "policy check FILE: lint a validate-jwt policy for the mistakes that cause 401s or open gateways",
  usage: USAGE,
  async run(args, io) {
    const [sub, ...rest] = args;
    if (sub !== "check") throw new UsageError(`expected "check"\n${USAGE}`);
    const { values, positionals } = parseCheckArgs(rest);
    const [file, ...extra] = positionals;
    if (file === undefined || extra.length > 0) throw new UsageError(`expected exactly one policy FILE\n${USAGE}`);
    const format = values.format ?? "text";
    if (format !== "text" && format !== "json") throw new UsageError("--format must be text or json");
    const context = lintContext(values, io);

    let xml: string;
    try {
      xml = await readFile(resolve(io.cwd, file), "utf8");
    } catch (error) {
      io.stderr.write(`apim-smoke policy check: cannot read ${displayPath(file)} (${(error as NodeJS.ErrnoException).code ?? "error"})\n`);
      return EXIT_USAGE;
    }
    let findings: LintFinding[];
    try {
      findings = lintPolicy(xml, context);
    } catch (error) {
      if (error instanceof PolicyError) {
        io.stderr.write(`apim-smoke policy check: ${displayPath(file)}: ${error.message}\n`);
        return EXIT_USAGE;
      }
      throw error;
    }
    io.stdout.write(format === "json" ? `${JSON.stringify({ file, findings }, null, 2)}\n` : renderFindings(file, findings));
    return findings.some((f) => f.severity === "error") ? EXIT_NOT_OK : EXIT_OK;
  },
};

function parseCheckArgs(args: readonly string[]) {
  try {
    return parseArgs({ args: [...args], options: OPTIONS, strict: true, allowPositionals: true });
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === "string" && code.startsWith("ERR_PARSE_ARGS")) throw new UsageError((error as Error).message, { cause: error });
    throw error;
  }
}

function lintContext(values: { [K in keyof typeof OPTIONS]?: string }, io: CliIo): LintContext {
  const context: LintContext = {};
  const version = values["token-version"];
  if (version !== undefined) {
    if (version !== "1" && version !== "2") throw new UsageError("--token-version must be 1 or 2");
    context.tokenVersion = version === "1" ? 1 : 2;
  }
  const tenantId = values["tenant-id"] ?? io.env.PROBE_TENANT_ID;
  if (tenantId) context.tenantId = tenantId;
  if (values["api-client-id"]) context.apiClientId = values["api-client-id"];
  if (values["app-id-uri"]) context.appIdUri = values["app-id-uri"];
  return context;
}

function renderFindings(file: string, findings: readonly LintFinding[]): string {
  if (findings.length === 0) return `${file}: no findings\n`;
  const lines = findings.map((f) => `${f.severity.padEnd(7)} ${f.code}  ${f.element}\n        ${f.message}\n        fix: ${f.fix}`);
  const errors = findings.filter((f) => f.severity === "error").length;
  return `${file}: ${findings.length} finding(s), ${errors} error(s)\n${lines.join("\n")}\n`;
}
