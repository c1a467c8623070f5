import { parseEnv } from "node:util";
import { SettingsError } from "../errors.js";

/**
 * The settings in a file the user hands the CLI with `--settings-file`: either a `.env` file
 * (`NAME=value` lines, as `node --env-file` reads them) or an Azure Functions `local.settings.json`,
 * whose `Values` object holds the app settings (docs/REFERENCE.md §5). The JSON form is recognised by
 * its content (a leading `{`), so a `local.settings.json` copied under another name still works.
 *
 * Values are returned as given; empty ones are left out, since an empty app setting is a common
 * leftover that means "unset". Errors name the file and what is wrong, never a value.
 */
export function parseSettingsFile(text: string, path: string): Record<string, string> {
  const values: Record<string, string> = {};
  const source = text.replace(/^\uFEFF/, "");
  const entries = source.trimStart().startsWith("{")
    ? localSettingsValues(source, path)
    : Object.entries(parseEnv(source));
  for (const [name, value] of entries) if (value !== undefined && value !== "") values[name] = value;
  return values;
}

/**
 * The JSON parser's own reason, where it is in the text ("Expected double-quoted property name in JSON
 * at position 21 (line 3 column 5)"), without any piece of the text V8 quotes (the unexpected token,
 * the text around it): that piece may hold a secret. Empty when there is nothing to add.
 */
export function jsonSyntaxReason(error: unknown): string {
  if (!(error instanceof SyntaxError)) return "";
  const reason = error.message
    .split(/,\s*(?:\.\.\.)?"|"/)[0]!
    .replace(/\s*'[^']*'/g, "")
    .trim();
  return reason.length > 0 && reason.length <= 200 ? `: ${reason}` : "";
}

function localSettingsValues(text: string, path: string): [string, string | undefined][] {
  const fail = (problem: string): never => {
    throw new SettingsError([{ setting: "--settings-file", problem: `${path} ${problem}` }]);
  };
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (error) {
    return fail(
      `starts with { but is not valid JSON (a local.settings.json, or a NAME=value file)${jsonSyntaxReason(error)}`,
    );
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) return fail("is not a JSON object");
  const { IsEncrypted, Values } = doc as { IsEncrypted?: unknown; Values?: unknown };
  // Core Tools can encrypt the values with a machine key (`func settings encrypt`); we cannot read them.
  if (IsEncrypted === true) return fail('has "IsEncrypted": true; run `func settings decrypt` first');
  if (Values === undefined) return fail('has no "Values" object (local.settings.json keeps the app settings there)');
  if (typeof Values !== "object" || Values === null || Array.isArray(Values)) return fail('"Values" is not an object');
  return Object.entries(Values as Record<string, unknown>).map(([name, value]): [string, string | undefined] => {
    if (value === null || value === undefined) return [name, undefined];
    if (typeof value === "string") return [name, value];
    if (typeof value === "number" || typeof value === "boolean") return [name, String(value)];
    return fail(`"Values.${name}" must be a string`);
  });
}
