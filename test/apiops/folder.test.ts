import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { coverageOf } from "../../src/apiops/coverage.js";
import { ApiopsFolderError, readApiopsFolder } from "../../src/apiops/folder.js";
import { targetsFromFolder } from "../../src/apiops/targets.js";
import { composeEffectivePolicy } from "../../src/policy/compose.js";

function folder(): string {
  const root = mkdtempSync(join(tmpdir(), "apiops-"));
  mkdirSync(join(root, "apis", "orders"), { recursive: true });
  writeFileSync(
    join(root, "apis", "orders", "apiInformation.json"),
    JSON.stringify({ properties: { path: "orders" } }),
  );
  return root;
}

function errorOf(root: string): ApiopsFolderError {
  try {
    readApiopsFolder(root);
  } catch (error) {
    expect(error).toBeInstanceOf(ApiopsFolderError);
    return error as ApiopsFolderError;
  }
  throw new Error("expected an ApiopsFolderError");
}

describe("readApiopsFolder: every file it refuses is named", () => {
  it("a policy reached through a symbolic link that leaves the folder is refused, not read", () => {
    const outside = mkdtempSync(join(tmpdir(), "outside-"));
    writeFileSync(join(outside, "secret.xml"), "<policies>not yours</policies>");
    const root = folder();
    symlinkSync(join(outside, "secret.xml"), join(root, "apis", "orders", "policy.xml"));
    const error = errorOf(root);
    expect(error.path).toBe(join(root, "apis", "orders", "policy.xml"));
    expect(error.message).toMatch(/symbolic link .* outside the folder/);
    expect(error.message).not.toContain("not yours");
  });

  it("a JSON file linked from outside is refused too; a link inside the folder is read", () => {
    const outside = mkdtempSync(join(tmpdir(), "outside-"));
    writeFileSync(join(outside, "info.json"), JSON.stringify({ properties: { path: "elsewhere" } }));
    const root = folder();
    mkdirSync(join(root, "products", "starter"), { recursive: true });
    symlinkSync(join(outside, "info.json"), join(root, "products", "starter", "productInformation.json"));
    expect(errorOf(root).path).toBe(join(root, "products", "starter", "productInformation.json"));

    const inside = folder();
    writeFileSync(join(inside, "shared-policy.xml"), "<policies />");
    symlinkSync(join(inside, "shared-policy.xml"), join(inside, "policy.xml"));
    expect(readApiopsFolder(inside).globalPolicy?.xml).toBe("<policies />");
  });

  it("a folder linked from outside (an API, a named value) is refused, naming the link; a folder linked inside is read", () => {
    const outside = mkdtempSync(join(tmpdir(), "outside-"));
    writeFileSync(join(outside, "apiInformation.json"), JSON.stringify({ properties: { path: "elsewhere" } }));
    const root = folder();
    symlinkSync(outside, join(root, "apis", "elsewhere"));
    expect(errorOf(root).path).toBe(join(root, "apis", "elsewhere"));
    expect(errorOf(root).message).toMatch(/symbolic link to a folder outside the folder/);

    const values = folder();
    mkdirSync(join(values, "named values"));
    symlinkSync(outside, join(values, "named values", "tenant-id"));
    expect(errorOf(values).path).toBe(join(values, "named values", "tenant-id"));

    const inside = folder();
    mkdirSync(join(inside, "shared", "status"), { recursive: true });
    writeFileSync(join(inside, "shared", "status", "apiInformation.json"), JSON.stringify({ path: "status" }));
    symlinkSync(join(inside, "shared", "status"), join(inside, "apis", "status"));
    expect(readApiopsFolder(inside).apis.map((a) => [a.name, a.path])).toEqual([
      ["orders", "orders"],
      ["status", "status"],
    ]);
  });

  it("an API's specification (or operation information) linked from outside is refused, not read into a target", () => {
    const outside = mkdtempSync(join(tmpdir(), "outside-"));
    writeFileSync(join(outside, "spec.yaml"), "openapi: 3.0.1\npaths:\n  /not-yours:\n    get: {}\n");
    writeFileSync(
      join(outside, "op.json"),
      JSON.stringify({ properties: { method: "GET", urlTemplate: "/not-yours" } }),
    );
    const root = folder();
    symlinkSync(join(outside, "spec.yaml"), join(root, "apis", "orders", "specification.yaml"));
    const read = readApiopsFolder(root);
    expect(() =>
      targetsFromFolder(read, {
        gateway: "https://contoso.azure-api.net",
        subscriptionKeySetting: "PROBE_SUBSCRIPTION_KEY",
      }),
    ).toThrow(ApiopsFolderError);
    expect(() => coverageOf(read)).toThrow(/specification\.yaml: is a symbolic link to a file outside the folder/);

    const operations = folder();
    mkdirSync(join(operations, "apis", "orders", "operations", "get-x"), { recursive: true });
    symlinkSync(
      join(outside, "op.json"),
      join(operations, "apis", "orders", "operations", "get-x", "operationInformation.json"),
    );
    expect(() =>
      targetsFromFolder(readApiopsFolder(operations), {
        gateway: "https://contoso.azure-api.net",
        subscriptionKeySetting: "PROBE_SUBSCRIPTION_KEY",
      }),
    ).toThrow(/operationInformation\.json: is a symbolic link to a file outside the folder/);
  });

  it("a file that cannot be read (a folder where policy.xml should be) names the file", () => {
    const root = folder();
    mkdirSync(join(root, "apis", "orders", "policy.xml"));
    const error = errorOf(root);
    expect(error.path).toBe(join(root, "apis", "orders", "policy.xml"));
    expect(error.message).toMatch(/cannot be read/);
  });
});

describe("composeEffectivePolicy names the file of a malformed scope", () => {
  it("the product's policy.xml, not just 'xml'", () => {
    const scopes = [
      { scope: "global" as const, file: "policy.xml", xml: "<policies><inbound /></policies>" },
      { scope: "product" as const, file: "products/starter/policy.xml", xml: "<policies><inbound><validate-jwt" },
    ];
    expect(() => composeEffectivePolicy(scopes)).toThrow(/products\/starter\/policy\.xml: xml: malformed XML/);
  });
});
