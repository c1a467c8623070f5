import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { validateXML } from "xmllint-wasm";
import { z } from "zod";

export const RUN_RESULT_SCHEMA_PATH = fileURLToPath(new URL("../../schema/run-result.schema.json", import.meta.url));
const xsd = readFileSync(fileURLToPath(new URL("../fixtures/junit/junit.xsd", import.meta.url)), "utf8");

/** xmllint (libxml2) against the JUnit XSD Jenkins and Azure DevOps read: every error it reports. */
export async function junitSchemaErrors(xml: string): Promise<string[]> {
  const result = await validateXML({
    xml: { fileName: "probe-results.xml", contents: xml },
    schema: { fileName: "junit.xsd", contents: xsd },
  });
  return result.valid ? [] : result.errors.map((e) => e.rawMessage);
}

/** The published schema file read back into a validator, as a pipeline validating the document would. */
export function publishedSchemaValidator(): z.ZodType {
  return z.fromJSONSchema(
    JSON.parse(readFileSync(RUN_RESULT_SCHEMA_PATH, "utf8")) as Parameters<typeof z.fromJSONSchema>[0],
  );
}

/** The issues the published schema finds in a document; none expected. */
export function runDocumentIssues(doc: unknown): string[] {
  const parsed = publishedSchemaValidator().safeParse(doc);
  return parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
}
