/**
 * Loads infra/main.json and infra/app-settings.json for the infra tests, and evaluates template
 * values for a given parameter set with the ARM expression interpreter (Azure-only functions are
 * stubbed with recognisable placeholders).
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { evaluateArm, isArmExpression, parseArmExpression, type ArmEvaluationContext } from "./arm-expression.js";

export const INFRA_DIR = fileURLToPath(new URL("../../infra/", import.meta.url));

export interface ArmParameter {
  type: string;
  defaultValue?: unknown;
  allowedValues?: unknown[];
  minValue?: number;
  maxValue?: number;
}

export interface ArmResource {
  type: string;
  apiVersion: string;
  name: string;
  condition?: string | boolean;
  location?: string;
  kind?: string;
  scope?: string;
  dependsOn?: string[];
  properties?: Record<string, unknown>;
  [key: string]: unknown;
}

export interface ArmTemplate {
  $schema: string;
  contentVersion: string;
  parameters: Record<string, ArmParameter>;
  variables: Record<string, unknown>;
  resources: ArmResource[];
  outputs?: Record<string, { type: string; value: unknown }>;
}

export interface AppSettingSpec {
  name: string;
  secret: boolean;
  default: string | null;
}

export interface AppSettingsSpec {
  settings: AppSettingSpec[];
  platformSettings: string[];
  mustNotBeSet: string[];
}

export function readInfraText(relativePath: string): string {
  return readFileSync(new URL(relativePath, `file://${INFRA_DIR}`), "utf8");
}

export function loadTemplate(): ArmTemplate {
  return JSON.parse(readInfraText("main.json")) as ArmTemplate;
}

export function loadAppSettingsSpec(): AppSettingsSpec {
  return JSON.parse(readInfraText("app-settings.json")) as AppSettingsSpec;
}

/** Every string in a JSON value (object keys included), with its JSON path. */
export function* stringsIn(value: unknown, path = "$"): Generator<{ path: string; value: string }> {
  if (typeof value === "string") {
    yield { path, value };
  } else if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) yield* stringsIn(item, `${path}[${i}]`);
  } else if (value !== null && typeof value === "object") {
    for (const [key, item] of Object.entries(value)) {
      yield { path: `${path}#key(${key})`, value: key };
      yield* stringsIn(item, `${path}.${key}`);
    }
  }
}

/** The Function App resource (there is exactly one). */
export function functionApp(template: ArmTemplate): ArmResource {
  const sites = template.resources.filter((r) => r.type === "Microsoft.Web/sites");
  if (sites.length !== 1) throw new Error(`expected one Microsoft.Web/sites, found ${sites.length}`);
  return sites[0]!;
}

export function appSettingsOf(site: ArmResource): { name: string; value: string }[] {
  const siteConfig = site.properties?.siteConfig as { appSettings?: { name: string; value: string }[] } | undefined;
  return siteConfig?.appSettings ?? [];
}

/** Placeholders for functions that need Azure; recognisable in evaluated output. */
export const AZURE_STUBS: NonNullable<ArmEvaluationContext["stubs"]> = {
  resourceGroup: () => ({ id: "/subscriptions/sub/resourceGroups/rg", name: "rg", location: "westeurope" }),
  subscription: () => ({ id: "/subscriptions/sub", subscriptionId: "sub", tenantId: "tenant-from-subscription" }),
  environment: () => ({ name: "AzureCloud", suffixes: { keyvaultDns: ".vault.azure.net", storage: "core.windows.net" } }),
  uniqueString: () => "uniq",
  guid: (...args: unknown[]) => `guid(${args.map(String).join(",")})`,
  resourceId: (...args: unknown[]) => `/resourceId/${args.map(String).join("/")}`,
  subscriptionResourceId: (...args: unknown[]) => `/subscriptionResourceId/${args.map(String).join("/")}`,
  extensionResourceId: (...args: unknown[]) => `/extensionResourceId/${args.map(String).join("/")}`,
  reference: (id: unknown) => ({
    clientId: "identity-client-id",
    principalId: "identity-principal-id",
    ConnectionString: `connection-string-of(${String(id)})`,
    primaryEndpoints: { blob: "https://storage.blob.core.windows.net/" },
    defaultHostName: "app.azurewebsites.net",
  }),
};

/** Deeply evaluates every expression string in `value`. */
export function evaluateValue(value: unknown, ctx: ArmEvaluationContext): unknown {
  if (typeof value === "string") {
    if (isArmExpression(value)) return evaluateArm(parseArmExpression(value), ctx);
    return value.startsWith("[[") ? value.slice(1) : value;
  }
  if (Array.isArray(value)) return value.map((v) => evaluateValue(v, ctx));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, evaluateValue(v, ctx)]));
  }
  return value;
}

/** Parameter values: template defaults (evaluated), then `overrides`. Throws when one is missing. */
export function parameterValues(template: ArmTemplate, overrides: Record<string, unknown>): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(template.parameters)) {
    if (name in overrides) values[name] = overrides[name];
    else if ("defaultValue" in spec) values[name] = evaluateValue(spec.defaultValue, { parameters: values, variables: {}, stubs: AZURE_STUBS });
    else throw new Error(`parameter ${name} has no default: give it in overrides`);
  }
  return values;
}

interface CopyVariable {
  copy: { name: string; count: unknown; input: unknown }[];
}

/** Evaluates every variable in order of need (variables may use earlier or later ones). */
export function variableValues(template: ArmTemplate, parameters: Record<string, unknown>, stubs = AZURE_STUBS): Record<string, unknown> {
  const done: Record<string, unknown> = {};
  const pending = new Set(Object.keys(template.variables));
  const ctx: ArmEvaluationContext = { parameters, variables: done, stubs };
  for (let pass = 0; pending.size > 0; pass++) {
    if (pass > pending.size + 10) throw new Error(`variables cannot be evaluated: ${[...pending].join(", ")}`);
    for (const name of [...pending]) {
      const raw = template.variables[name];
      try {
        if (raw !== null && typeof raw === "object" && "copy" in raw) {
          const out: Record<string, unknown> = {};
          for (const loop of (raw as CopyVariable).copy) {
            const count = evaluateValue(loop.count, ctx) as number;
            out[loop.name] = Array.from({ length: count }, (_, i) =>
              evaluateValue(loop.input, { ...ctx, stubs: { ...stubs, copyIndex: () => i } }),
            );
          }
          done[name] = out;
        } else {
          done[name] = evaluateValue(raw, ctx);
        }
        pending.delete(name);
      } catch (error) {
        // A variable that needs another one not evaluated yet: retry on the next pass.
        if (!(error instanceof Error && /variable '.*' is not defined/.test(error.message))) throw error;
      }
    }
  }
  return done;
}

/** The context to evaluate resource properties for a parameter set (`stubs` replace the Azure placeholders). */
export function evaluationContext(template: ArmTemplate, overrides: Record<string, unknown>, stubs = AZURE_STUBS): ArmEvaluationContext {
  const parameters = parameterValues(template, overrides);
  return { parameters, variables: variableValues(template, parameters, stubs), stubs };
}

/** Parameters that have no default, with plausible values (a deployment must give them). */
export const REQUIRED_PARAMETERS = {
  probeClientId: "c2a8e5f1-7b39-4d06-8e4a-1f5c9b3d7a62",
} as const;
