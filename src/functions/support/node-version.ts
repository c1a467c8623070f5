import { olderThanRequired, REQUIRED_NODE } from "../../required-node.js";

/**
 * Why the Function App's Node.js cannot run the probe, or undefined. Checked by each trigger before
 * the probe runtime loads: on an older Node.js that would fail as a SyntaxError stack in the host's
 * log, naming a Node.js module rather than the version to set.
 */
export function functionsNodeVersionProblem(version: string): string | undefined {
  if (!olderThanRequired(version)) return undefined;
  return `apim-smoke-probe needs Node.js ${REQUIRED_NODE} or later; this Function App runs Node.js ${version}. Set the app's Node.js version to 22 (Flex Consumption: the runtime version in the app's configuration, which the ARM template sets; other plans: the Node.js version under Configuration), then restart it.`;
}
