/**
 * Copies infra/kql/workbook-<name>.kql into the query of the workbook item named <name> in
 * infra/workbook.json, then infra/kql/alert-*.kql into `variables.kql` and the workbook into
 * `variables.workbook` of infra/main.json. ARM cannot read files, so the template carries copies; the .kql files and the
 * workbook stay the reviewed originals and test/infra/template.test.ts fails when a copy differs.
 *
 *   node test/infra/sync-embedded.ts     (Node 22 strips the types)
 */
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const infra = fileURLToPath(new URL("../../infra/", import.meta.url));

/** The alert queries keyed by file name without `.kql`, as the template's `variables.kql`. */
export function alertQueries(infraDir: string = infra): Record<string, string> {
  const kql: Record<string, string> = {};
  for (const file of readdirSync(join(infraDir, "kql")).filter((f) => f.startsWith("alert-") && f.endsWith(".kql")).sort()) {
    kql[file.slice(0, -".kql".length)] = readFileSync(join(infraDir, "kql", file), "utf8");
  }
  return kql;
}

interface WorkbookItem {
  name?: string;
  content?: { query?: string };
}

function main(): void {
  const workbookPath = join(infra, "workbook.json");
  const workbook = JSON.parse(readFileSync(workbookPath, "utf8")) as { items: WorkbookItem[] };
  for (const item of workbook.items) {
    if (typeof item.content?.query === "string" && item.name) {
      item.content.query = readFileSync(join(infra, "kql", `workbook-${item.name}.kql`), "utf8");
    }
  }
  writeFileSync(workbookPath, `${JSON.stringify(workbook, null, 2)}\n`);

  const templatePath = join(infra, "main.json");
  const template = JSON.parse(readFileSync(templatePath, "utf8")) as { variables: Record<string, unknown> };
  template.variables.kql = alertQueries();
  template.variables.workbook = workbook;
  writeFileSync(templatePath, `${JSON.stringify(template, null, 2)}\n`);
  process.stdout.write(`updated ${workbookPath} and ${templatePath}\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
