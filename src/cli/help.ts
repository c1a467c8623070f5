import { DEFAULT_SCHEDULE } from "../core/settings/defaults.js";
import { SCENARIO_NAMES } from "../sandbox/index.js";
import { CLOUD_NAMES } from "../entra/clouds.js";
import { PROBE_NAMES } from "../probe-matrix/names.js";
import { DEFAULT_TABLE_WIDTH, SUMMARY_VIEW_TARGETS, wrap } from "../core/results/table.js";
import { DEFAULT_ESTATE_KEY_SETTING } from "./commands/targets.js";
import { EXIT_NOT_OK, EXIT_NOTHING_PROVEN, EXIT_OK, EXIT_OUTPUT_FILE, EXIT_RESULTS_LOST, EXIT_USAGE } from "./io.js";
import { SETTINGS_FILE_WAIT_MS } from "./load-config.js";

/** One option as `--help` describes it: what it takes, what it does, and what happens without it. */
export interface OptionHelp {
  /** `--format table|json`, as typed. */
  option: string;
  description: string;
  /** What applies when the option is not given; "required" for one that must be. */
  default: string;
}

/**
 * Every exit code the CLI returns, for `--help` and the README (one table, a test keeps both the
 * same). 9 is Node.js's own, listed because users meet it.
 */
export const EXIT_CODES: readonly { code: number; meaning: string }[] = [
  {
    code: EXIT_OK,
    meaning:
      "every probe passed or was skipped (policy check: no error-level finding; coverage: every operation validates tokens)",
  },
  {
    code: EXIT_NOT_OK,
    meaning:
      "a probe did not pass (fail, security, error, blocked), a finding or an unguarded operation, or the command failed",
  },
  {
    code: EXIT_USAGE,
    meaning: "bad arguments or settings, or input that cannot be read; the message names the option or setting",
  },
  {
    code: EXIT_RESULTS_LOST,
    meaning:
      "every probe passed, but availability results were lost (ingestion did not take them and no state dir keeps them, or the full outbox evicted them), or a damaged state document was set aside",
  },
  {
    code: EXIT_NOTHING_PROVEN,
    meaning: "every probe was skipped: nothing was proven (not configured, no scope, no key; the table says why)",
  },
  {
    code: EXIT_OUTPUT_FILE,
    meaning:
      "an output file (--junit FILE) cannot be written: a folder or an unwritable place is refused before any probe runs; a write that fails after the run comes after the results were shown and sent",
  },
  {
    code: 9,
    meaning:
      "Node.js itself refused its command line: an installed apim-smoke given --env-file for a file that does not exist yet (use --settings-file)",
  },
];

const SETTINGS_FILE: OptionHelp = {
  option: "--settings-file FILE",
  description: `a .env file (NAME=value lines) or an Azure Functions local.settings.json (its Values); the environment wins over it; waited for up to ${SETTINGS_FILE_WAIT_MS / 1000} s when it is not there yet`,
  default: "the environment; ./local.settings.json or ./.env (said on stderr) when it holds no PROBE_* setting",
};
const ENV_FILE: OptionHelp = {
  option: "--env-file FILE",
  description:
    "the former spelling of --settings-file; Node.js also claims it, so an installed apim-smoke may exit 9 before reading it",
  default: "none",
};
const FORMAT: OptionHelp = {
  option: "--format table|json",
  description: "a table for people, or the JSON document (schema/run-result.schema.json)",
  default: "table",
};
const VIEW: OptionHelp[] = [
  {
    option: "--verbose",
    description: "every probe's row, its detail, cause and fix",
    default: `off: every row up to ${SUMMARY_VIEW_TARGETS} targets, beyond that a line per target and the failures expanded`,
  },
  {
    option: "--quiet",
    description: "only the probes that did not pass, with cause and fix, and the final line",
    default: "off",
  },
];
const JUNIT: OptionHelp = {
  option: "--junit FILE",
  description: "also write a JUnit report (Jenkins, Azure DevOps); its folder is created",
  default: "none",
};
const STATE_DIR: OptionHelp = {
  option: "--state-dir DIR",
  description:
    "keep the outbox of undelivered availability results, the sealed expired-token harvest and the last token summaries there",
  default: "PROBE_STATE_DIR, else nothing is kept",
};
const TARGET: OptionHelp = {
  option: "--target NAME",
  description: "probe only this target (repeatable)",
  default: "every target in the settings",
};
const PROBE: OptionHelp = {
  option: "--probe NAME",
  description: `run only this probe (repeatable): ${PROBE_NAMES.join(", ")}`,
  default: "every probe",
};
const SCENARIO: OptionHelp = {
  option: "--scenario NAME",
  description: `the sandbox's misconfiguration: ${SCENARIO_NAMES.join(", ")}`,
  default: "healthy",
};
const CLOUD: OptionHelp = {
  option: `--cloud ${CLOUD_NAMES.join("|")}`,
  description: "the national cloud the emulated tenant is in",
  default: "public",
};
const POLICY: OptionHelp = {
  option: "--policy FILE",
  description: "your API policy on the sandbox gateway",
  default: "the sandbox's own validate-jwt policy",
};
const APIOPS_SANDBOX: OptionHelp = {
  option: "--apiops DIR",
  description: "publish every HTTP API of an APIOps folder on the sandbox gateway",
  default: "one API, orders",
};
const NAMED_VALUES_SANDBOX: readonly OptionHelp[] = [
  {
    option: "--named-value NAME=VALUE",
    description:
      "a value for {{NAME}} in your policy or folder (repeatable): a secret or Key Vault named value, which an APIOps folder does not hold",
    default:
      "none (the folder's, and the sandbox's tenant-id, api-client-id, api-app-id-uri, api-role, probe-client-id)",
  },
  { option: "--named-values FILE", description: "named values as a JSON object of name: value", default: "none" },
];

export const COMMAND_OPTIONS: Readonly<Record<string, readonly OptionHelp[]>> = {
  run: [
    TARGET,
    PROBE,
    FORMAT,
    ...VIEW,
    JUNIT,
    SETTINGS_FILE,
    ENV_FILE,
    STATE_DIR,
    {
      option: "--apiops DIR",
      description: "the APIOps folder the preflight reads (and --changed-since compares)",
      default: "PROBE_APIOPS_DIR, else none",
    },
    {
      option: "--changed-since GIT-REF",
      description: "probe only the targets whose API's artifacts changed since the ref (needs --apiops)",
      default: "every target",
    },
  ],
  watch: [
    {
      option: '--schedule "<6-field NCRONTAB>"',
      description: "when to run after the run at start, read as an Azure Functions timer's (UTC)",
      default: `PROBE_SCHEDULE, else "${DEFAULT_SCHEDULE}"`,
    },
    TARGET,
    PROBE,
    { ...FORMAT, description: "a table per run, or one JSON document per run a line (NDJSON)" },
    ...VIEW,
    JUNIT,
    SETTINGS_FILE,
    ENV_FILE,
    STATE_DIR,
  ],
  token: [
    {
      option: "--scope SCOPE",
      description: "the resource's scope, ending in /.default",
      default: "the first target's scope",
    },
    {
      option: "--raw",
      description: "print the token itself (for PROBE_EXPIRED_TOKEN); never in a shared log",
      default: "off: its decoded summary only",
    },
    SETTINGS_FILE,
    ENV_FILE,
  ],
  demo: [SCENARIO, CLOUD, POLICY, APIOPS_SANDBOX, ...NAMED_VALUES_SANDBOX, FORMAT],
  sandbox: [
    SCENARIO,
    CLOUD,
    POLICY,
    APIOPS_SANDBOX,
    ...NAMED_VALUES_SANDBOX,
    {
      option: "--token-lifetime S",
      description: "lifetime of the tokens the emulated tenant issues, in seconds (1-86400)",
      default: "3900 (65 minutes, as Entra's default range)",
    },
    {
      option: "--state-dir DIR",
      description: "where sandbox.env (the settings that point a probe at it) and the CA are written",
      default: ".sandbox",
    },
  ],
  diagnose: [
    {
      option: "--token-file FILE",
      description: "the token (or a whole `Bearer <token>` header value) to explain; never printed",
      default: "required",
    },
    {
      option: "--policy FILE",
      description: "the API's APIM policy to check the token against",
      default: "PROBE_POLICY_FILE, else the settings' expectations",
    },
    SETTINGS_FILE,
    ENV_FILE,
    { option: "--format text|json", description: "text for people, or JSON", default: "text" },
  ],
  policy: [
    { option: "FILE", description: "the policy document to lint", default: "required, unless --apiops or --scope" },
    {
      option: "--apiops DIR",
      description: "lint the effective policy of every API and operation of an APIOps folder",
      default: "none",
    },
    {
      option: "--product NAME",
      description: "with --apiops: the product whose policy applies",
      default: "each API's products",
    },
    {
      option: "--scope global|product|api|operation=FILE",
      description: "compose scopes at <base /> as APIM does (repeatable)",
      default: "none",
    },
    {
      option: "--fragment ID=FILE",
      description: "a policy fragment for <include-fragment> (repeatable)",
      default: "none",
    },
    {
      option: "--named-value NAME=VALUE",
      description: "a named value for {{NAME}} (repeatable)",
      default: "none (the folder's, with --apiops)",
    },
    { option: "--named-values FILE", description: "named values as a JSON object of name: value", default: "none" },
    {
      option: "--token-version 1|2",
      description: "the access token version the API's registration issues",
      default: "not checked",
    },
    {
      option: "--tenant-id ID",
      description: "the tenant the issuers and openid-config must name",
      default: "not checked",
    },
    {
      option: "--api-client-id ID",
      description: "the API's application (client) id, an accepted audience",
      default: "not checked",
    },
    {
      option: "--app-id-uri URI",
      description: "the API's Application ID URI, an accepted audience",
      default: "not checked",
    },
    { option: "--format text|json", description: "text for people, or JSON", default: "text" },
  ],
  targets: [
    { option: "--apiops DIR", description: "the APIOps folder whose HTTP APIs become targets", default: "required" },
    {
      option: "--gateway URL",
      description: "the gateway's https origin, e.g. https://<service>.azure-api.net",
      default: "required",
    },
    {
      option: "--scope S",
      description: "the token scope of every target",
      default: "from the effective policy's audiences",
    },
    {
      option: "--subscription-key-setting NAME",
      description: "the setting that will hold the subscription key",
      default: DEFAULT_ESTATE_KEY_SETTING,
    },
    {
      option: "--product P",
      description: "the product whose policy and subscription apply",
      default: "each API's products",
    },
    {
      option: "--operation API=/path",
      description: "the request path to probe for an API (repeatable)",
      default: "the specification's first GET without path parameters",
    },
    { option: "--out FILE", description: "write the targets file there", default: "stdout" },
  ],
  coverage: [
    { option: "--apiops DIR", description: "the APIOps folder to map", default: "required" },
    {
      option: "--targets FILE",
      description: "a targets file: which operations the probe covers",
      default: "none: nothing counts as probed",
    },
    { option: "--product P", description: "the product whose policy applies", default: "each API's products" },
    { option: "--format table|json", description: "a table for people, or JSON", default: "table" },
  ],
};

/** `apim-smoke <command> --help`: synopsis, summary, every option with its default, the exit codes. */
export function commandHelp(name: string, usage: string, summary: string): string {
  const options = COMMAND_OPTIONS[name] ?? [];
  const width = Math.max(...options.map((o) => o.option.length), 0);
  const lines = [usage, `  ${summary}`, ""];
  if (options.length > 0) {
    lines.push("options:");
    const indent = " ".repeat(width + 4);
    for (const o of options)
      lines.push(
        ...wrap(o.description, HELP_WIDTH, `  ${o.option.padEnd(width)}  `, indent),
        ...wrap(`default: ${o.default}`, HELP_WIDTH, indent, `${indent}  `),
      );
    lines.push("");
  }
  lines.push(exitCodesHelp());
  return `${lines.join("\n")}\n`;
}

export function exitCodesHelp(): string {
  return ["exit codes:", ...EXIT_CODES.flatMap((e) => wrap(e.meaning, HELP_WIDTH, `  ${e.code}  `, "     "))].join(
    "\n",
  );
}

/** Help reads as a man page does: wrapped to a width any terminal and CI log shows whole. */
const HELP_WIDTH = DEFAULT_TABLE_WIDTH;
