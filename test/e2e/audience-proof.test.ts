import type { IncomingMessage, ServerResponse } from "node:http";
import { decodeJwt, decodeProtectedHeader } from "jose";
import { describe, expect, it } from "vitest";
import { claimDifferences } from "../../src/core/probes/audience-isolation.js";
import { loadSettings } from "../../src/core/settings/load-settings.js";
import type { ScenarioName } from "../../src/sandbox/index.js";
import { independentGatewayPerTest, resultOf, runOnce, sandboxPerTest, settingsOf } from "./support.js";

/**
 * A gateway written apart from the sandbox: it requires the API's role and a subscription key,
 * refuses unsigned tokens and expired ones, and never looks at `aud`. Its 401 body is its own.
 */
function roleOnlyGateway(role: string): (req: IncomingMessage, res: ServerResponse) => void {
  const refuse = (res: ServerResponse, why: string) => {
    res.writeHead(401, { "content-type": "text/plain" });
    res.end(`denied: ${why}`);
  };
  return (req, res) => {
    req.resume();
    const auth = req.headers.authorization ?? "";
    const token = /^Bearer (\S+)$/.exec(auth)?.[1];
    if (!token) return refuse(res, "no bearer");
    try {
      if (decodeProtectedHeader(token).alg === "none") return refuse(res, "unsigned");
      const claims = decodeJwt(token);
      if (typeof claims.exp !== "number" || claims.exp * 1000 < Date.now()) return refuse(res, "expired");
      if (!Array.isArray(claims.roles) || !claims.roles.includes(role)) return refuse(res, "role");
    } catch {
      return refuse(res, "malformed");
    }
    res.writeHead(200, { "content-type": "application/json" });
    res.end('{"ok":true}');
  };
}

const openSandbox = sandboxPerTest();
const startGateway = independentGatewayPerTest();

async function wrongAudienceAgainstRoleOnlyGateway(scenario: ScenarioName) {
  const sandbox = await openSandbox({ scenario });
  const { settings } = await startGateway(sandbox, roleOnlyGateway("Api.Access"), "/shop/orders");
  const config = loadSettings(settings);
  const report = await runOnce(config, {}, ["token", "valid", "wrong-audience"]);
  expect(resultOf(report, "valid").outcome).toBe("pass");
  return resultOf(report, "wrong-audience");
}

describe("a wrong-audience refusal proves the audience rule only when the token differs in aud alone", () => {
  it("a role-requiring gateway that ignores aud: without the one-time setup the pass carries audience-unproven naming roles", async () => {
    const result = await wrongAudienceAgainstRoleOnlyGateway("own-app-without-role");
    expect(result).toMatchObject({
      outcome: "pass",
      actualStatus: 401,
      diagnosis: { cause: "audience-unproven", evidence: { differences: "roles" } },
    });
    expect(result.diagnosis?.summary).toMatch(/roles: it lacks Api\.Access/);
    expect(result.diagnosis?.fix).toMatch(/App roles/);
  });

  it("the same gateway once the probe's own app carries the API's role: security", async () => {
    const result = await wrongAudienceAgainstRoleOnlyGateway("healthy");
    expect(result).toMatchObject({ outcome: "security", actualStatus: 200 });
    expect(result.token?.roles).toEqual(["Api.Access"]);
  });

  it("the sandbox's own gateway (the policy requires the role): without the setup, audience-unproven from the policy's verdict", async () => {
    const sandbox = await openSandbox({ scenario: "own-app-without-role" });
    const report = await runOnce(settingsOf(sandbox), {}, ["token", "wrong-audience"]);
    expect(resultOf(report, "wrong-audience")).toMatchObject({
      outcome: "pass",
      diagnosis: { cause: "audience-unproven", evidence: { differences: "roles" } },
    });
  });
});

describe("claimDifferences", () => {
  const valid = { iss: "https://login.microsoftonline.com/t/v2.0", ver: "2.0", client: "c", roles: ["Api.Access"] };
  it.each([
    ["nothing but aud", { ...valid, aud: "other" }, []],
    ["more roles than valid's are no difference", { ...valid, roles: ["Api.Access", "Other"] }, []],
    ["a role missing", { ...valid, roles: [] }, ["roles"]],
    ["issuer and version", { ...valid, iss: "https://sts.windows.net/t/", ver: "1.0" }, ["issuer", "version"]],
    ["another client", { ...valid, client: "d" }, ["client"]],
    ["delegated scopes", { ...valid, scp: "user_impersonation" }, ["scp"]],
  ])("%s", (_name, wrong, expected) => {
    expect(claimDifferences(wrong, valid)).toEqual(expected);
  });
});
