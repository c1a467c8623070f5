import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { targetsJsonSchema } from "../../../src/core/settings/targets-file.js";

const schemaPath = fileURLToPath(new URL("../../../schema/targets.schema.json", import.meta.url));

describe("schema/targets.schema.json", () => {
  it("is the JSON Schema of the targets file as the code defines it (UPDATE_SCHEMA=1 rewrites it)", () => {
    const current = `${JSON.stringify(targetsJsonSchema(), null, 2)}\n`;
    if (process.env.UPDATE_SCHEMA === "1") writeFileSync(schemaPath, current);
    expect(readFileSync(schemaPath, "utf8")).toBe(current);
  });

  it("names every probe and forbids unknown properties", () => {
    const schema = JSON.stringify(targetsJsonSchema());
    expect(schema).toContain('"unassigned-client"');
    expect(schema).toContain('"additionalProperties":false');
  });
});
