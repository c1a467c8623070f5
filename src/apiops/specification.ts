import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { createRequire } from "node:module";
import { XMLParser } from "fast-xml-parser";
import { readInside } from "./folder.js";
import type * as Yaml from "yaml";

type YamlModule = typeof Yaml;

// Loaded on first use: the Functions app reads settings at start, and most apps have no folder.
const require = createRequire(import.meta.url);
const parseYaml = (text: string): unknown => (require("yaml") as YamlModule).parse(text);

/** One operation of an API's specification, as APIM imported it. */
export interface SpecOperation {
  method: string;
  /** The URL template, e.g. `/orders/{id}`. */
  path: string;
  operationId?: string;
}

export type SpecificationRead =
  | { kind: "openapi" | "wadl"; file: string; operations: SpecOperation[] }
  /** A WSDL or GraphQL schema, an unreadable WADL, or none: no REST operations to choose from. */
  | { kind: "none" | "wsdl" | "wadl" | "graphql"; file?: string; operations?: undefined };

const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/**
 * The API's `specification.{yaml,yml,json}` (OpenAPI 3 or Swagger 2, as the APIOps extractor writes
 * it) with its operations in document order; `specification.wsdl`, `.wadl` and `.graphql` are named
 * for what they are. YAML through the `yaml` package (a well-kept parser; JSON is YAML too).
 */
export function readSpecification(apiFolder: string, root: string): SpecificationRead {
  for (const name of ["specification.yaml", "specification.yml", "specification.json"]) {
    const file = join(apiFolder, name);
    if (!existsSync(file)) continue;
    // Read as every file of the folder is: a link that leaves it is refused, naming the file.
    const text = readInside(root, file);
    let doc: unknown;
    try {
      doc = parseYaml(text);
    } catch {
      return { kind: "none", file };
    }
    const paths = (doc as { paths?: unknown } | null)?.paths;
    const operations: SpecOperation[] = [];
    if (paths && typeof paths === "object") {
      for (const [path, item] of Object.entries(paths as Record<string, unknown>)) {
        if (!item || typeof item !== "object") continue;
        for (const [method, op] of Object.entries(item as Record<string, unknown>)) {
          if (!METHODS.includes(method.toLowerCase())) continue;
          const operationId = (op as { operationId?: unknown } | null)?.operationId;
          operations.push({
            method: method.toUpperCase(),
            path,
            ...(typeof operationId === "string" ? { operationId } : {}),
          });
        }
      }
    }
    return { kind: "openapi", file, operations };
  }
  const wadl = join(apiFolder, "specification.wadl");
  if (existsSync(wadl)) {
    const operations = wadlOperations(readInside(root, wadl));
    return operations ? { kind: "wadl", file: wadl, operations } : { kind: "wadl", file: wadl };
  }
  for (const kind of ["wsdl", "graphql"] as const) {
    const file = join(apiFolder, `specification.${kind}`);
    if (existsSync(file)) return { kind, file };
  }
  // apiops-cli: without a specification, each operation's operationInformation.json holds its method and template.
  const fromOperations = operationsFromInformation(apiFolder, root);
  return fromOperations.length > 0
    ? { kind: "openapi", file: join(apiFolder, "operations"), operations: fromOperations }
    : { kind: "none" };
}

function operationsFromInformation(apiFolder: string, root: string): SpecOperation[] {
  const dir = join(apiFolder, "operations");
  if (!existsSync(dir)) return [];
  const operations: SpecOperation[] = [];
  for (const name of readdirSync(dir).sort()) {
    const file = join(dir, name, "operationInformation.json");
    if (!existsSync(file)) continue;
    const text = readInside(root, file);
    try {
      const doc = JSON.parse(text) as { properties?: Record<string, unknown> } & Record<string, unknown>;
      const info = doc.properties ?? doc;
      if (typeof info.method === "string" && typeof info.urlTemplate === "string")
        operations.push({ method: info.method.toUpperCase(), path: info.urlTemplate, operationId: name });
    } catch {
      // an unreadable file names no operation
    }
  }
  return operations;
}

/** The operation to probe: the first GET whose path has no parameters (nothing to guess). */
export function probeOperation(spec: SpecificationRead): SpecOperation | undefined {
  return spec.operations?.find((op) => op.method === "GET" && !op.path.includes("{"));
}

interface WadlResource {
  path?: string;
  method?: { name?: string; id?: string }[];
  resource?: WadlResource[];
}

/**
 * A WADL's operations (W3C member submission, as APIM imports it): each `<method name>` under its
 * `<resource path>`, nested paths joined. Undefined when the document cannot be read. DOCTYPEs are
 * not processed by the parser, so an entity cannot reach outside the file.
 */
function wadlOperations(xml: string): SpecOperation[] | undefined {
  let doc: { application?: { resources?: { resource?: WadlResource[] }[] } };
  try {
    const parser = new XMLParser({
      ignoreAttributes: false,
      attributeNamePrefix: "",
      removeNSPrefix: true,
      processEntities: false,
      isArray: (name) => ["resources", "resource", "method"].includes(name),
    });
    doc = parser.parse(xml) as typeof doc;
  } catch {
    return undefined;
  }
  const operations: SpecOperation[] = [];
  const walk = (resources: readonly WadlResource[] | undefined, prefix: string, depth: number): void => {
    if (!resources || depth > 32) return;
    for (const r of resources) {
      const path = `${prefix.replace(/\/+$/, "")}/${(r.path ?? "").replace(/^\/+/, "")}`;
      for (const m of r.method ?? []) {
        if (typeof m.name === "string")
          operations.push({
            method: m.name.toUpperCase(),
            path: path === "" ? "/" : path,
            ...(typeof m.id === "string" ? { operationId: m.id } : {}),
          });
      }
      walk(r.resource, path, depth + 1);
    }
  };
  for (const resources of doc.application?.resources ?? []) walk(resources.resource, "", 0);
  return operations;
}
