import { X509Certificate } from "node:crypto";
import { describe, expect, it } from "vitest";
import { TenantModelError } from "../../../src/core/errors.js";
import { createDefaultTenant, parseTenantModel, type TenantModelInput } from "../../../src/sandbox/entra/model.js";
import {
  ORDERS_API,
  PROBE_CLIENT,
  PROBE_MANAGED_IDENTITY,
  SANDBOX_TENANT_ID,
  UNASSIGNED_CLIENT,
} from "../../../src/sandbox/identities.js";

const API = "3f9a2c71-5d84-4b0e-a6c3-8e1f7b2d9045";
const CLIENT = "c2a8e5f1-7b39-4d06-8e4a-1f5c9b3d7a62";
const ROLE = "b7e4c1a9-2f36-4d85-9c0e-6a3b5d8f1e27";

type LooseModel = Omit<TenantModelInput, "apps"> & { apps: Record<string, unknown>[] };

function validModel(): LooseModel {
  return {
    tenantId: SANDBOX_TENANT_ID,
    apps: [
      {
        displayName: "api",
        clientId: API,
        objectId: "5c0e8a41-7f92-4d3b-b6a1-0e4d2f9c8b75",
        appIdUri: "api://api",
        accessTokenAcceptedVersion: 2,
        appRoles: [{ id: ROLE, value: "Api.Access", allowedMemberTypes: ["Application"] }],
        assignmentRequired: true,
      },
      {
        displayName: "client",
        clientId: CLIENT,
        objectId: "e91b4d27-6c05-4a83-b1f8-3d7e2a5c9046",
        secrets: [{ id: "0d4c9a3e-1b2f-4c5d-8e6f-7a8b9c0d1e2f", value: "s3cret", expiresAt: "2099-01-01T00:00:00Z" }],
      },
    ],
    roleAssignments: [{ clientId: CLIENT, resourceClientId: API, roleId: ROLE }],
    managedIdentities: [],
  };
}

function refusal(mutate: (m: LooseModel) => void): { path: string; code: string } {
  const model = validModel();
  mutate(model);
  try {
    parseTenantModel(model);
  } catch (error) {
    expect(error).toBeInstanceOf(TenantModelError);
    const e = error as TenantModelError;
    return { path: e.path, code: e.code };
  }
  throw new Error("model was accepted");
}

describe("tenant model", () => {
  it("accepts a valid model and fills defaults", () => {
    const model = parseTenantModel(validModel());
    expect(model.apps[1]).toMatchObject({
      accessTokenAcceptedVersion: null,
      assignmentRequired: false,
      appRoles: [],
      certificates: [],
    });
  });

  it.each([
    [
      "an empty role value",
      (m: LooseModel) => ((m.apps[0]!["appRoles"] as { value: string }[])[0]!.value = ""),
      "apps[0].appRoles[0].value",
    ],
    ["an unknown key", (m: LooseModel) => (m.apps[1]!["secret"] = "x"), "apps[1].secret"],
    [
      "a secret with no value",
      (m: LooseModel) => delete (m.apps[1]!["secrets"] as Record<string, unknown>[])[0]!["value"],
      "apps[1].secrets[0].value",
    ],
    [
      "a secret with an empty value",
      (m: LooseModel) => ((m.apps[1]!["secrets"] as { value: string }[])[0]!.value = ""),
      "apps[1].secrets[0].value",
    ],
    ["a client id that is not a GUID", (m: LooseModel) => (m.apps[1]!["clientId"] = "client"), "apps[1].clientId"],
    [
      "a token version of 3",
      (m: LooseModel) => (m.apps[0]!["accessTokenAcceptedVersion"] = 3),
      "apps[0].accessTokenAcceptedVersion",
    ],
    ["a duplicate client id", (m: LooseModel) => (m.apps[1]!["clientId"] = API), "apps[1].clientId"],
    [
      "an assignment naming an unknown role",
      (m: LooseModel) => (m.roleAssignments![0]!.roleId = "0d4c9a3e-1b2f-4c5d-8e6f-7a8b9c0d1e2f"),
      "roleAssignments[0].roleId",
    ],
    [
      "an assignment naming an unknown resource app",
      (m: LooseModel) => (m.roleAssignments![0]!.resourceClientId = "0d4c9a3e-1b2f-4c5d-8e6f-7a8b9c0d1e2f"),
      "roleAssignments[0].resourceClientId",
    ],
    [
      "an assignment naming an unknown client",
      (m: LooseModel) => (m.roleAssignments![0]!.clientId = "0d4c9a3e-1b2f-4c5d-8e6f-7a8b9c0d1e2f"),
      "roleAssignments[0].clientId",
    ],
    [
      "a certificate that is not PEM",
      (m: LooseModel) => (m.apps[1]!["certificates"] = [{ certPem: "nope" }]),
      "apps[1].certificates[0].certPem",
    ],
    ["a missing tenant id", (m: LooseModel) => delete (m as Partial<LooseModel>).tenantId, "tenantId"],
  ])("refuses %s, naming the element", (_name, mutate, path) => {
    expect(refusal(mutate)).toEqual({ path, code: "APIM_SMOKE_TENANT_MODEL" });
  });

  it("says what is wrong in the message", () => {
    const model = validModel();
    (model.apps[0]!["appRoles"] as { value: string }[])[0]!.value = "";
    expect(() => parseTenantModel(model)).toThrow("Tenant model apps[0].appRoles[0].value: must not be empty");
  });
});

describe("default tenant", () => {
  it("builds the sandbox tenant from the fixed identities, with fresh secrets and a probe certificate", async () => {
    const a = await createDefaultTenant();
    const b = await createDefaultTenant();
    expect(a.model.tenantId).toBe(SANDBOX_TENANT_ID);
    expect(a.probeClient.secret.value).not.toBe(b.probeClient.secret.value);
    expect(a.probeClient.secret.value).toMatch(/^.{3}8Q~.{34}$/);

    const api = a.model.apps.find((x) => x.clientId === ORDERS_API.clientId)!;
    expect(api).toMatchObject({
      appIdUri: ORDERS_API.appIdUri,
      accessTokenAcceptedVersion: 2,
      assignmentRequired: true,
    });
    expect(a.model.roleAssignments).toEqual([
      { clientId: PROBE_CLIENT.clientId, resourceClientId: ORDERS_API.clientId, roleId: ORDERS_API.roleId },
      // The probe's own app role with the API's role value, granted to itself: the own-app token carries it.
      { clientId: PROBE_CLIENT.clientId, resourceClientId: PROBE_CLIENT.clientId, roleId: PROBE_CLIENT.ownRoleId },
      // Microsoft Graph's Application.Read.All, for credential-expiry.
      {
        clientId: PROBE_CLIENT.clientId,
        resourceClientId: "00000003-0000-0000-c000-000000000000",
        roleId: "9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30",
      },
    ]);
    expect(a.model.apps.find((x) => x.clientId === UNASSIGNED_CLIENT.clientId)!.secrets[0]!.value).toBe(
      a.unassignedClient.secret.value,
    );

    const probe = a.model.apps.find((x) => x.clientId === PROBE_CLIENT.clientId)!;
    expect(probe.federatedCredentials).toEqual([
      {
        issuer: `https://login.microsoftonline.com/${SANDBOX_TENANT_ID}/v2.0`,
        subject: PROBE_MANAGED_IDENTITY.principalId,
        audiences: ["api://AzureADTokenExchange"],
      },
    ]);
    const cert = new X509Certificate(a.probeClient.certificate.certPem);
    expect(probe.certificates[0]!.certPem).toBe(a.probeClient.certificate.certPem);
    expect(cert.fingerprint256.replaceAll(":", "").toLowerCase()).toBe(a.probeClient.certificate.thumbprintSha256);
    expect(cert.checkPrivateKey((await import("node:crypto")).createPrivateKey(a.probeClient.certificate.keyPem))).toBe(
      true,
    );
    expect(a.model.managedIdentities).toEqual([{ ...PROBE_MANAGED_IDENTITY }]);
  });
});
