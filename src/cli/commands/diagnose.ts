import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { decodeJwt, decodeProtectedHeader } from "jose";
import { PolicyError, UsageError } from "../../core/errors.js";
import { cloudsOfSettings } from "../../entra/clouds.js";
import {
  buildDiagnosis,
  expectationsFromPolicy,
  expectationsFromSettings,
  explainToken,
  type Expectations,
} from "../../core/diagnosis/index.js";
import type { Diagnosis, TokenSummary } from "../../core/results/types.js";
import { readSettingsEnv } from "../../core/settings/settings-sources.js";
import { displayPath } from "../../core/settings/looks-like-secret.js";
import { escapedStrings, summarizeToken } from "../../core/tokens/summary.js";
import { parsePolicy } from "../../policy/index.js";
import { parseCommandArgs } from "../args.js";
import { chooseSettingsFile, SETTINGS_FILE_OPTIONS } from "../load-config.js";
import { EXIT_NOT_OK, EXIT_OK, EXIT_USAGE, type Command } from "../io.js";

const OPTIONS = {
  "token-file": { type: "string" },
  policy: { type: "string" },
  ...SETTINGS_FILE_OPTIONS,
  format: { type: "string" },
} as const;

/**
 * `apim-smoke diagnose --token-file F [--policy FILE] [--format text|json]`: explains a token (e.g.
 * one a user pasted from their own client) against a policy's validate-jwt, or else against the
 * settings (PROBE_API_SCOPE gives the audience, PROBE_TENANT_ID the issuers). Offline: the token is
 * decoded, not verified, and never printed; only its summary is.
 * The policy is `--policy`, else PROBE_POLICY_FILE; the settings come from the environment and
 * `--settings-file`, as for `run`. Exit 0 when nothing is wrong, 1 when something is, 2 when the token or
 * policy cannot be read, or when there is nothing to check the token against.
 */
export const diagnoseCommand: Command = {
  summary: "explain a token (--token-file) against a policy (--policy) or the settings; never prints the token",
  usage: "usage: apim-smoke diagnose --token-file FILE [--policy FILE] [--settings-file FILE] [--format text|json]",
  async run(args, io) {
    const values = parseCommandArgs(args, OPTIONS);
    const tokenFile = values["token-file"];
    if (!tokenFile) throw new UsageError("--token-file is required");
    const format = values.format ?? "text";
    if (format !== "text" && format !== "json") throw new UsageError("--format must be text or json");

    const tokenText = await readText(io.cwd, tokenFile);
    if (tokenText === undefined) {
      io.stderr.write(`apim-smoke diagnose: cannot read --token-file ${displayPath(tokenFile)}\n`);
      return EXIT_USAGE;
    }
    // Accept what people paste: the bare token or a whole "Bearer <token>" header value.
    const token = tokenText.trim().replace(/^(authorization:\s*)?bearer\s+/i, "");
    let claims: Record<string, unknown>;
    try {
      decodeProtectedHeader(token);
      // Shown as data: a token from elsewhere may carry terminal control in its claims.
      claims = escapedStrings(decodeJwt(token));
    } catch {
      io.stderr.write(
        `apim-smoke diagnose: --token-file ${displayPath(tokenFile)} does not hold a JWT (header.payload.signature)\n`,
      );
      return EXIT_USAGE;
    }
    const summary = summarizeToken(token) ?? {};

    // Offline: the settings are only read (no credential is needed to explain a token), not validated whole.
    const settingsFile = chooseSettingsFile(values, io).file;
    const { values: settings } = readSettingsEnv(io.env, {
      cwd: io.cwd,
      ...(settingsFile !== undefined ? { envFile: settingsFile } : {}),
    });
    const policyFile = values.policy ?? settings.PROBE_POLICY_FILE;
    const policyOption = values.policy !== undefined ? "--policy" : "PROBE_POLICY_FILE";
    let expectations: Expectations;
    let note: string | undefined;
    if (policyFile) {
      const xml = await readText(io.cwd, policyFile);
      if (xml === undefined) {
        io.stderr.write(`apim-smoke diagnose: cannot read ${policyOption} ${displayPath(policyFile)}\n`);
        return EXIT_USAGE;
      }
      try {
        const policy = parsePolicy(xml);
        if (policy.validateJwt) expectations = expectationsFromPolicy(policy.validateJwt);
        else {
          expectations = { source: "policy" };
          note = "the policy has no validate-jwt: the gateway checks no token at all";
        }
      } catch (error) {
        if (!(error instanceof PolicyError)) throw error;
        io.stderr.write(`apim-smoke diagnose: ${displayPath(policyFile)}: ${error.message}\n`);
        return EXIT_USAGE;
      }
    } else {
      // Offline: the cloud from PROBE_CLOUD or the authority host; unknown, every national cloud's issuers.
      const { named, byHost } = cloudsOfSettings(settings.PROBE_CLOUD, settings.PROBE_AUTHORITY_HOST);
      const cloud = named ?? byHost;
      expectations = expectationsFromSettings({
        ...(settings.PROBE_API_SCOPE ? { scope: settings.PROBE_API_SCOPE } : {}),
        ...(settings.PROBE_TENANT_ID ? { tenantId: settings.PROBE_TENANT_ID } : {}),
        ...(cloud ? { cloud } : {}),
      });
      if (!expectations.audiences && !expectations.issuers) {
        io.stdout.write(
          format === "json"
            ? `${JSON.stringify({ token: summary, checked: false }, null, 2)}\n`
            : renderText(summary, expectations, [], undefined, false),
        );
        io.stderr.write(
          "apim-smoke diagnose: nothing to check the token against: give --policy FILE (the API's APIM policy), or set PROBE_API_SCOPE and PROBE_TENANT_ID (in the environment or a --settings-file)\n",
        );
        return EXIT_USAGE;
      }
    }

    const at = io.now?.() ?? Date.now();
    const diagnoses: Diagnosis[] = explainToken(summary, expectations, { at, claims }).map((finding) =>
      buildDiagnosis(finding.cause, finding.evidence, {
        render: { probe: "token" },
        ...(finding.variant ? { variant: finding.variant } : {}),
      }),
    );

    if (format === "json") {
      io.stdout.write(
        `${JSON.stringify({ token: summary, expectations, ...(note ? { note } : {}), diagnoses }, null, 2)}\n`,
      );
    } else {
      io.stdout.write(
        renderText(
          summary,
          expectations,
          diagnoses,
          note,
          true,
          policyFile ? `${policyOption} ${displayPath(policyFile)}` : undefined,
        ),
      );
    }
    return diagnoses.length === 0 ? EXIT_OK : EXIT_NOT_OK;
  },
};

async function readText(cwd: string, file: string): Promise<string | undefined> {
  try {
    return await readFile(resolve(cwd, file), "utf8");
  } catch {
    return undefined;
  }
}

function renderText(
  summary: TokenSummary,
  expectations: Expectations,
  diagnoses: readonly Diagnosis[],
  note: string | undefined,
  checked = true,
  /** Where the policy came from, e.g. `--policy api.xml` or `PROBE_POLICY_FILE /path/api.xml`. */
  policyFrom?: string,
): string {
  const lines = ["token (decoded, not verified):"];
  for (const [key, value] of Object.entries(summary)) {
    const shown =
      key === "exp" && typeof value === "number"
        ? `${value} (${new Date(value * 1000).toISOString()})`
        : Array.isArray(value)
          ? value.join(", ")
          : String(value);
    lines.push(`  ${key.padEnd(6)} ${shown}`);
  }
  if (!checked) return `${lines.join("\n")}\n`;
  lines.push(
    `checked against: ${expectations.source === "policy" ? `the policy${policyFrom ? ` (${policyFrom})` : ""}` : "the settings (PROBE_API_SCOPE, PROBE_TENANT_ID)"}`,
  );
  if (note) lines.push(`note: ${note}`);
  if (diagnoses.length === 0) lines.push("no problem found");
  for (const d of diagnoses) {
    lines.push(`${d.cause}: ${d.summary}`, `  fix: ${d.fix}`);
  }
  return `${lines.join("\n")}\n`;
}
