/**
 * `npm run package`: the zip that `az functionapp deployment source config-zip` (one deploy on Flex
 * Consumption) takes, holding only what runs (scripts/packaging/production-files.ts). Prints its
 * size. Options: `--out <file>` (default dist/app.zip).
 */
import { mkdirSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { packageContents, PackagingError } from "./packaging/production-files.js";
import { createZip } from "./packaging/zip.js";

/** The target the package is held to: Flex's deployment has room for far more, a cold start does not. */
export const PACKAGE_TARGET_BYTES = 25 * 1024 * 1024;

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { out: { type: "string" } } });
  const out = resolve(values.out ?? resolve(root, "dist", "app.zip"));
  const contents = packageContents(root);
  mkdirSync(dirname(out), { recursive: true });
  const zip = await createZip(out);
  let size: number;
  try {
    for (const file of [...contents.app, ...contents.dependencies])
      zip.add({ name: file.name, data: readFileSync(file.path) });
    size = await zip.close();
  } catch (error) {
    await zip.abort();
    throw error;
  }
  const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
  process.stdout.write(
    `${out}: ${mb(size)} (${contents.app.length} app files, ${contents.packages.length} production packages in ${contents.dependencies.length} files)\n`,
  );
  if (size > PACKAGE_TARGET_BYTES)
    process.stdout.write(`warning: larger than the ${mb(PACKAGE_TARGET_BYTES)} target\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`package: ${error instanceof PackagingError ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
