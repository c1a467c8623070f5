import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import {
  ApiopsFolderError,
  namedValueMap,
  readApiopsFolder,
  scopesFor,
  type ApiopsFolder,
} from "../../apiops/folder.js";
import { PolicyError, UsageError } from "../../core/errors.js";
import { displayPath } from "../../core/settings/looks-like-secret.js";
import { composeEffectivePolicy, POLICY_SCOPES, type PolicyScope, type ScopedPolicy } from "../../policy/index.js";
import { lintParsedPolicy, lintPolicy, type LintContext, type LintFinding } from "../../policy/lint/index.js";
import { EXIT_NOT_OK, EXIT_OK, EXIT_USAGE, type CliIo, type Command } from "../io.js";
import { wrapText } from "../wrap.js";

const OPTIONS = {
  "token-version": { type: "string" },
  "tenant-id": { type: "string" },
  "api-client-id": { type: "string" },
  "app-id-uri": { type: "string" },
  format: { type: "string" },
  apiops: { type: "string" },
  product: { type: "string" },
  "named-value": { type: "string", multiple: true },
  "named-values": { type: "string" },
  scope: { type: "string", multiple: true },
  fragment: { type: "string", multiple: true },
} as const;

const USAGE =
  "usage: apim-smoke policy check (FILE | --apiops DIR [--product NAME] | --scope global|product|api|operation=FILE... [--fragment ID=FILE]...) [--named-value NAME=VALUE]... [--named-values FILE] " +
  "[--token-version 1|2] [--tenant-id ID] [--api-client-id ID] [--app-id-uri URI] [--format text|json]";

/** One linted unit: a file, or an API or operation of an APIOps folder with its effective policy. */
interface Report {
  subject: string;
  /** The product whose policy was assumed, for an API in a product. */
  product?: string;
  findings: LintFinding[];
}

/**
 * `apim-smoke policy check FILE` lints one policy document; `--apiops DIR` lints the effective
 * policy (global, product, API, operation, fragments) of every API and operation of an APIOps
 * folder. Exit 0 when no error-level finding, 1 when any, 2 only for input that cannot be read
 * (the message names the file and element). `--tenant-id` defaults to PROBE_TENANT_ID.
 */
export const policyCommand: Command = {
  summary:
    "policy check FILE | --apiops DIR: lint APIM policies (effective per operation) for the mistakes that cause 401s or open gateways",
  usage: USAGE,
  async run(args, io) {
    const [sub, ...rest] = args;
    if (sub !== "check") throw new UsageError(`expected "check"\n${USAGE}`);
    const { values, positionals } = parseCheckArgs(rest);
    const format = values.format ?? "text";
    if (format !== "text" && format !== "json") throw new UsageError("--format must be text or json");
    const context = lintContext(values, io);
    const namedValues = await readNamedValueOptions(io, values["named-value"], values["named-values"]);

    let reports: Report[];
    try {
      if (values.scope !== undefined) {
        if (positionals.length > 0 || values.apiops !== undefined)
          throw new UsageError(`give a policy FILE, --apiops DIR or --scope SCOPE=FILE..., one of them\n${USAGE}`);
        reports = [await lintScopes(io, values.scope, values.fragment ?? [], context, namedValues)];
      } else if (values.apiops !== undefined) {
        if (positionals.length > 0)
          throw new UsageError(`give either a policy FILE or --apiops DIR, not both\n${USAGE}`);
        reports = lintFolder(readApiopsFolder(resolve(io.cwd, values.apiops)), context, namedValues, values.product);
      } else {
        const [file, ...extra] = positionals;
        if (file === undefined || extra.length > 0)
          throw new UsageError(`expected exactly one policy FILE (or --apiops DIR)\n${USAGE}`);
        let xml: string;
        try {
          xml = await readFile(resolve(io.cwd, file), "utf8");
        } catch (error) {
          io.stderr.write(
            `apim-smoke policy check: cannot read ${displayPath(file)} (${(error as NodeJS.ErrnoException).code ?? "error"})\n`,
          );
          return EXIT_USAGE;
        }
        try {
          reports = [{ subject: file, findings: lintPolicy(xml, context, { namedValues }) }];
        } catch (error) {
          if (!(error instanceof PolicyError)) throw error;
          io.stderr.write(`apim-smoke policy check: ${displayPath(file)}: ${error.message}\n`);
          return EXIT_USAGE;
        }
      }
    } catch (error) {
      if (error instanceof PolicyError || error instanceof ApiopsFolderError) {
        io.stderr.write(`apim-smoke policy check: ${error.message}\n`);
        return EXIT_USAGE;
      }
      throw error;
    }
    io.stdout.write(
      format === "json"
        ? `${JSON.stringify(values.apiops === undefined ? { file: reports[0]!.subject, findings: reports[0]!.findings } : { reports }, null, 2)}\n`
        : reports.map((r) => renderReport(r, io.stdout.columns)).join(""),
    );
    return reports.some((r) => r.findings.some((f) => f.severity === "error")) ? EXIT_NOT_OK : EXIT_OK;
  },
};

/** The effective policy of an ordered list of scope files (`--scope api=apis/orders/policy.xml`), with fragments. */
async function lintScopes(
  io: CliIo,
  scopes: readonly string[],
  fragments: readonly string[],
  context: LintContext,
  namedValues: Record<string, string>,
): Promise<Report> {
  const read = async (option: string, pair: string): Promise<{ name: string; file: string; xml: string }> => {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new UsageError(`${option} must be NAME=FILE`);
    const file = pair.slice(eq + 1);
    try {
      return { name: pair.slice(0, eq), file, xml: await readFile(resolve(io.cwd, file), "utf8") };
    } catch {
      throw new UsageError(`${option}: cannot read ${displayPath(file)}`);
    }
  };
  const scoped: ScopedPolicy[] = [];
  for (const pair of scopes) {
    const { name, file, xml } = await read("--scope", pair);
    if (!(POLICY_SCOPES as readonly string[]).includes(name))
      throw new UsageError(`--scope: the scope must be one of ${POLICY_SCOPES.join(", ")}`);
    scoped.push({ scope: name as PolicyScope, file, xml });
  }
  const fragmentMap: Record<string, { file: string; xml: string }> = {};
  for (const pair of fragments) {
    const { name, file, xml } = await read("--fragment", pair);
    fragmentMap[name] = { file, xml };
  }
  return {
    subject: scoped.map((s) => `${s.scope} ${s.file}`).join(" + "),
    findings: lintParsedPolicy(composeEffectivePolicy(scoped, fragmentMap, { namedValues }), context),
  };
}

/** Every HTTP API (current revision) and every operation with its own policy, on its effective policy. */
function lintFolder(
  folder: ApiopsFolder,
  context: LintContext,
  extraNamedValues: Record<string, string>,
  product: string | undefined,
): Report[] {
  const namedValues = { ...namedValueMap(folder), ...extraNamedValues };
  const reports: Report[] = [];
  for (const api of folder.apis) {
    const units = [undefined, ...api.operations.filter((o) => o.policy !== undefined).map((o) => o.name)];
    for (const operation of units) {
      const { scopes, product: assumed } = scopesFor(folder, api, {
        ...(operation ? { operation } : {}),
        ...(product ? { product } : {}),
      });
      const policy = composeEffectivePolicy(scopes, folder.fragments, { namedValues });
      reports.push({
        subject: operation ? `api ${api.name} operation ${operation}` : `api ${api.name}`,
        ...(assumed ? { product: assumed.name } : {}),
        findings: lintParsedPolicy(policy, context),
      });
    }
  }
  return reports;
}

/** `--named-value NAME=VALUE`... and `--named-values FILE`: values are never repeated back (one may be a secret). */
export async function readNamedValueOptions(
  io: CliIo,
  pairs: readonly string[] | undefined,
  file: string | undefined,
): Promise<Record<string, string>> {
  const values: Record<string, string> = {};
  if (file !== undefined) {
    let doc: unknown;
    try {
      doc = JSON.parse(await readFile(resolve(io.cwd, file), "utf8"));
    } catch {
      throw new UsageError(`--named-values: ${displayPath(file)} cannot be read as a JSON object of name: value`);
    }
    if (typeof doc !== "object" || doc === null || Array.isArray(doc))
      throw new UsageError(`--named-values: ${displayPath(file)} must be a JSON object of name: value`);
    for (const [name, value] of Object.entries(doc as Record<string, unknown>))
      if (typeof value === "string") values[name] = value;
  }
  for (const pair of pairs ?? []) {
    const eq = pair.indexOf("=");
    // Never repeated back: a named value may well be a secret.
    if (eq <= 0) throw new UsageError("--named-value must be NAME=VALUE");
    values[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return values;
}

function parseCheckArgs(args: readonly string[]) {
  try {
    return parseArgs({ args: [...args], options: OPTIONS, strict: true, allowPositionals: true });
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === "string" && code.startsWith("ERR_PARSE_ARGS"))
      throw new UsageError((error as Error).message, { cause: error });
    throw error;
  }
}

function lintContext(
  values: { "token-version"?: string; "tenant-id"?: string; "api-client-id"?: string; "app-id-uri"?: string },
  io: CliIo,
): LintContext {
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

/**
 * One finding per block: severity, code, element and where it stands (`line 12`, or
 * `api apis/orders/policy.xml:12` in an effective policy), then the message, the premise it rests
 * on and the fix, wrapped to the terminal's width.
 */
function renderReport(report: Report, width: number | undefined): string {
  const head = `${report.subject}${report.product ? ` (product ${report.product} assumed)` : ""}`;
  if (report.findings.length === 0) return `${head}: no findings\n`;
  const lines = report.findings.map((f) => {
    const line = f.line !== undefined && f.line > 0 ? f.line : undefined;
    const where = f.file
      ? [f.scope, `${f.file}${line ? `:${line}` : ""}`].filter(Boolean).join(" ")
      : line
        ? `line ${line}`
        : "";
    return [
      wrapText(`${f.code}  ${f.element}${where ? `  (${where})` : ""}`, width, 8, f.severity.padEnd(8)),
      wrapText(f.message, width, 8),
      ...(f.premise ? [wrapText(`premise: ${f.premise}`, width, 8)] : []),
      wrapText(`fix: ${f.fix}`, width, 8),
    ].join("\n");
  });
  const errors = report.findings.filter((f) => f.severity === "error").length;
  return `${head}: ${report.findings.length} finding(s), ${errors} error(s)\n${lines.join("\n")}\n`;
}
