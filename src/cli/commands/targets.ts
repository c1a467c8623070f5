import { writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { ApiopsFolderError, readApiopsFolder } from "../../apiops/folder.js";
import { targetsFromFolder } from "../../apiops/targets.js";
import { OutputFileError, UsageError } from "../../core/errors.js";
import { httpsUrlProblem, settingName } from "../../core/settings/rules.js";
import { displayPath } from "../../core/settings/looks-like-secret.js";
import { parseCommandArgs } from "../args.js";
import { EXIT_NOT_OK, EXIT_OK, EXIT_USAGE, type Command } from "../io.js";

const OPTIONS = {
  apiops: { type: "string" },
  gateway: { type: "string" },
  scope: { type: "string" },
  "subscription-key-setting": { type: "string" },
  product: { type: "string" },
  operation: { type: "string", multiple: true },
  out: { type: "string" },
} as const;

/** The setting the generated file names for the key (PROBE_SUBSCRIPTION_KEY cannot sit beside a targets file). */
export const DEFAULT_ESTATE_KEY_SETTING = "APIM_SUBSCRIPTION_KEY";

/**
 * `apim-smoke targets --apiops DIR --gateway URL`: a targets file (schema/targets.schema.json) for the
 * whole estate, from the APIOps folder users already keep: one target per HTTP API, the URL from the
 * API's path and its specification's first GET without path parameters, expected statuses from what
 * the folder says. What cannot be determined goes to stderr, one line each. Exit 1 when no target
 * could be written.
 */
export const targetsCommand: Command = {
  summary: "write a targets file for every API of an APIOps folder (--apiops DIR --gateway URL)",
  usage:
    "usage: apim-smoke targets --apiops DIR --gateway https://<service>.azure-api.net [--scope S] [--subscription-key-setting NAME] [--product P] [--operation API=/path]... [--out FILE]",
  async run(args, io) {
    const values = parseCommandArgs(args, OPTIONS);
    if (values.apiops === undefined) throw new UsageError("--apiops DIR is required");
    if (values.gateway === undefined)
      throw new UsageError("--gateway is required: gateway host names are not in the APIOps artifacts");
    const problem = httpsUrlProblem(values.gateway, { allowPath: false });
    if (problem) throw new UsageError(`--gateway ${problem}`);
    const keySetting = values["subscription-key-setting"] ?? DEFAULT_ESTATE_KEY_SETTING;
    if (!settingName.safeParse(keySetting).success)
      throw new UsageError("--subscription-key-setting must be a setting NAME (letters, digits, _)");
    const operations: Record<string, string> = {};
    for (const pair of values.operation ?? []) {
      const eq = pair.indexOf("=");
      if (eq <= 0 || !pair.slice(eq + 1).startsWith("/")) throw new UsageError("--operation must be API=/path");
      operations[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
    let folder;
    try {
      folder = readApiopsFolder(resolve(io.cwd, values.apiops));
    } catch (error) {
      if (!(error instanceof ApiopsFolderError)) throw error;
      io.stderr.write(`apim-smoke targets: ${error.message}\n`);
      return EXIT_USAGE;
    }
    const { targets, notes } = targetsFromFolder(folder, {
      gateway: values.gateway,
      subscriptionKeySetting: keySetting,
      operations,
      ...(values.scope ? { scope: values.scope } : {}),
      ...(values.product ? { product: values.product } : {}),
    });
    for (const note of notes) io.stderr.write(`note: ${note}\n`);
    // An empty estate proves nothing and must not pass a pipeline step as if it did.
    if (targets.length === 0) {
      io.stderr.write(
        "apim-smoke targets: no target written: no HTTP API of the folder can be probed (see the notes above)\n",
      );
      return EXIT_NOT_OK;
    }
    const text = `${JSON.stringify({ targets }, null, 2)}\n`;
    if (values.out === undefined) io.stdout.write(text);
    else {
      try {
        await writeFile(resolve(io.cwd, values.out), text);
      } catch (error) {
        throw new OutputFileError("--out", values.out, { cause: error });
      }
      io.stderr.write(`wrote ${targets.length} target(s) to ${displayPath(values.out)}\n`);
    }
    return EXIT_OK;
  },
};
