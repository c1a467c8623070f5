import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, posix, relative, sep } from "node:path";

/**
 * What the deployment package holds: what the Functions host and the worker read (package.json,
 * host.json), the compiled `src` (dist/src, without source maps), and the production dependencies
 * that package-lock.json names, copied from the installed node_modules without what only a
 * compiler or a reader uses. Tests, fixtures, the bench, TypeScript sources and dev dependencies
 * (the `node` package among them) stay out.
 */

export interface PackageFile {
  /** Path inside the package, forward slashes. */
  name: string;
  /** Where it is on disk. */
  path: string;
}

export interface PackageContents {
  app: PackageFile[];
  dependencies: PackageFile[];
  /** Production packages from package-lock.json, e.g. `node_modules/@azure/functions`. */
  packages: string[];
}

export class PackagingError extends Error {}

/** Files at the app root the host and the worker read. */
const ROOT_FILES = ["package.json", "host.json"];

/**
 * Never read at run time: source maps, TypeScript sources and declarations (`.ts`, `.d.ts`,
 * `.mts`, `.cts`, `.d.mts`, `.d.cts`), build info and markdown. `node_modules/.bin` holds links
 * into packages that are packaged anyway.
 */
const NOT_RUN = /\.(map|[mc]?ts|tsbuildinfo|md|markdown)$/i;

interface LockEntry {
  version?: string;
  dev?: boolean;
  optional?: boolean;
  devOptional?: boolean;
  link?: boolean;
}

export function packageContents(root: string): PackageContents {
  for (const file of ROOT_FILES)
    if (!existsSync(join(root, file))) throw new PackagingError(`${file} is missing in ${root}`);
  const compiled = join(root, "dist", "src");
  if (!existsSync(join(compiled, "functions")))
    throw new PackagingError(`${join(compiled, "functions")} is missing: build first (npm run build)`);

  const app: PackageFile[] = ROOT_FILES.map((name) => ({ name, path: join(root, name) }));
  for (const path of filesUnder(compiled)) {
    if (NOT_RUN.test(path)) continue;
    // tsc never deletes: the output of a source removed since would ship, and a stale trigger
    // matched by the `main` glob would still register.
    const source = join(root, "src", relative(compiled, path)).replace(/\.js$/, ".ts");
    if (!existsSync(source))
      throw new PackagingError(
        `${toName(root, path)} has no source ${toName(root, source)}: a stale build output; delete dist and build again`,
      );
    app.push({ name: toName(root, path), path });
  }

  const packages = productionPackages(root);
  const dependencies: PackageFile[] = [];
  for (const pkg of packages) {
    for (const path of filesUnder(join(root, pkg), (dir) => dir !== "node_modules")) {
      if (!NOT_RUN.test(path)) dependencies.push({ name: toName(root, path), path });
    }
  }
  return { app, dependencies, packages };
}

/**
 * The lock's packages that `npm ci --omit=dev` installs (neither `dev` nor only-optional-and-absent),
 * checked against what is installed: a package missing or at another version than the lock says
 * means node_modules is not what the lock describes, and the zip would not be either.
 */
export function productionPackages(root: string): string[] {
  let lock: { lockfileVersion?: number; packages?: Record<string, LockEntry> };
  try {
    lock = JSON.parse(readFileSync(join(root, "package-lock.json"), "utf8")) as typeof lock;
  } catch (error) {
    throw new PackagingError(`package-lock.json could not be read: ${(error as Error).message}`);
  }
  if (!lock.packages || (lock.lockfileVersion ?? 0) < 2)
    throw new PackagingError("package-lock.json has no `packages` section (lockfileVersion 2 or later is needed)");
  const kept: string[] = [];
  for (const [key, entry] of Object.entries(lock.packages)) {
    if (!key.startsWith("node_modules/") && !key.includes("/node_modules/")) continue;
    if (entry.dev) continue;
    if (entry.link)
      throw new PackagingError(
        `${key} is a linked package (workspace or file: dependency); the packager copies only installed packages`,
      );
    const installed = join(root, key, "package.json");
    if (!existsSync(installed)) {
      // Optional dependencies for another platform are not installed, and not needed.
      if (entry.optional) continue;
      throw new PackagingError(
        `${key} is a production dependency in package-lock.json but is not installed: run npm ci`,
      );
    }
    const { version } = JSON.parse(readFileSync(installed, "utf8")) as { version?: string };
    if (entry.version && version !== entry.version) {
      throw new PackagingError(
        `${key} is installed at ${version ?? "no version"} but package-lock.json says ${entry.version}: run npm ci`,
      );
    }
    kept.push(key);
  }
  return kept.sort();
}

function filesUnder(dir: string, descend: (name: string) => boolean = () => true): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== ".bin" && descend(entry.name)) files.push(...filesUnder(path, descend));
    } else if (entry.isFile()) {
      files.push(path);
    }
    // Symbolic links and other kinds are not deployed: a zip entry is a regular file.
  }
  return files.sort();
}

const toName = (root: string, path: string): string => relative(root, path).split(sep).join(posix.sep);
