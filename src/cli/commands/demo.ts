import { setTimeout as sleep } from "node:timers/promises";
import { createProbeEngine } from "../../core/probes/engine.js";
import { loadSettings } from "../../core/settings/load-settings.js";
import { SCENARIOS, startSandbox } from "../../sandbox/index.js";
import { parseCommandArgs, toFormat } from "../args.js";
import type { Command } from "../io.js";
import { runAndReport } from "../run-report.js";
import { createCliTelemetry } from "../telemetry.js";
import { lendIdentityEndpoint } from "../identity-endpoint.js";
import { readNamedValueOptions } from "./policy-check.js";
import { apiopsOption, namedValueHint, readPolicyOption, toCloud, toScenario } from "./sandbox.js";

/**
 * The sandbox issues short-lived tokens in the demo so that the probe can harvest a real,
 * tenant-signed expired token within seconds, as it does over an hour against Entra ID.
 */
const DEMO_TOKEN_LIFETIME_SECONDS = 2;
const DEMO_EXPIRED_MARGIN_MS = 500;

/**
 * `apim-smoke demo [--scenario NAME] [--policy FILE] [--format table|json]` (what `npm start` runs): the sandbox
 * in-process, the whole matrix against it, the table, and what the sandbox's ingestion accepted.
 */
export const demoCommand: Command = {
  summary: "start the sandbox in-process and run the whole matrix against it (npm start)",
  usage:
    "usage: apim-smoke demo [--scenario NAME] [--cloud public|usgov|china] [--policy FILE | --apiops DIR] [--named-value NAME=VALUE]... [--named-values FILE] [--format table|json]",
  async run(args, io) {
    const values = parseCommandArgs(args, {
      scenario: { type: "string" },
      cloud: { type: "string" },
      format: { type: "string" },
      policy: { type: "string" },
      apiops: { type: "string" },
      "named-value": { type: "string", multiple: true },
      "named-values": { type: "string" },
    });
    const scenario = toScenario(values.scenario);
    const cloud = toCloud(values.cloud);
    const format = toFormat(values.format);
    const policyXml = await readPolicyOption(io.cwd, values.policy);
    const apiops = values.apiops === undefined ? undefined : await apiopsOption(io.cwd, values.apiops);
    const namedValues = await readNamedValueOptions(io, values["named-value"], values["named-values"]);
    const sandbox = await startSandbox({
      scenario,
      cloud,
      ...(apiops ? { apiops } : {}),
      tokenLifetimeSeconds: DEMO_TOKEN_LIFETIME_SECONDS,
      ...(policyXml !== undefined ? { policyXml } : {}),
      namedValues,
    }).catch((error: unknown) => {
      throw namedValueHint(error);
    });
    // The managed identity's endpoint is the process's environment to @azure/identity, as App Service
    // sets it; the in-process sandbox's is in its settings: lend it for the demo, as the host would.
    const restoreIdentity = lendIdentityEndpoint(sandbox.settings);
    try {
      const config = loadSettings(sandbox.settings);
      const engine = createProbeEngine(config, { expiredTokenMarginMs: DEMO_EXPIRED_MARGIN_MS });
      const telemetry = createCliTelemetry(sandbox.settings, config);
      try {
        io.stderr.write(`sandbox scenario "${scenario}": ${SCENARIOS[scenario].description}\n`);
        // First pass: acquire a token and let it age, so the matrix below has a real expired one.
        await engine.run({ probes: ["token"] });
        await sleep(DEMO_TOKEN_LIFETIME_SECONDS * 1000 + DEMO_EXPIRED_MARGIN_MS + 100);
        const { exitCode } = await runAndReport(engine, config, { format }, io, telemetry);
        const received = sandbox.ingestion.availability().length;
        io.stderr.write(`sandbox ingestion accepted ${received} availability result${received === 1 ? "" : "s"}\n`);
        if (policyXml !== undefined)
          io.stderr.write(
            `the gateway enforced your policy ${values.policy}: every probe should pass if it is right\n`,
          );
        else if (apiops !== undefined)
          // The scenario's expectation is about its own API, which a folder replaces.
          io.stderr.write(
            `the gateway enforced the effective policies of ${values.apiops}: every probe of an API should pass if its policies are right\n`,
          );
        else io.stderr.write(`expected for "${scenario}": ${SCENARIOS[scenario].expectation}\n`);
        // The run's own exit code, the one its JSON carries (3 when the sandbox's ingestion refused results).
        return exitCode;
      } finally {
        await telemetry?.close();
        await engine.close();
      }
    } finally {
      restoreIdentity();
      await sandbox.close();
    }
  },
};
