import { X509Certificate } from "node:crypto";
import { z } from "zod";
import { CLOUD_NAMES } from "../../entra/clouds.js";
import { TenantModelError } from "../../core/errors.js";

/**
 * The emulated tenant, declared as data: app registrations (with their service principals), app-role
 * assignments and user-assigned managed identities. Validated once by `parseTenantModel`; a bad model
 * throws `TenantModelError` naming the element, e.g. `apps[1].appRoles[0].value: must not be empty`.
 * Objects are strict: an unknown key is a typo, and a typo in a tenant model silently changes what
 * the sandbox proves.
 */

const guid = z.guid();

const appRoleSchema = z.strictObject({
  id: guid,
  value: z.string().min(1),
  allowedMemberTypes: z.array(z.enum(["Application", "User"])).min(1),
});

const secretSchema = z.strictObject({
  /** The secret's keyId (the "Secret ID" the portal shows, often confused with the value). */
  id: guid,
  value: z.string().min(1),
  expiresAt: z.iso.datetime({ offset: true }),
});

const certificateSchema = z.strictObject({
  /** Public certificate only, PEM. */
  certPem: z.string().min(1),
});

const federatedCredentialSchema = z.strictObject({
  issuer: z.url(),
  subject: z.string().min(1),
  audiences: z.array(z.string().min(1)).min(1),
});

const appSchema = z.strictObject({
  displayName: z.string().min(1),
  clientId: guid,
  /** Object id of the app's service principal: `oid`/`sub` of the tokens it gets as a client. */
  objectId: guid,
  appIdUri: z.string().min(1).optional(),
  /** The resource decides the token version (docs/REFERENCE.md §1): null or 1 gives v1, 2 gives v2. */
  accessTokenAcceptedVersion: z.union([z.literal(1), z.literal(2), z.null()]).default(null),
  appRoles: z.array(appRoleSchema).default([]),
  /** "Assignment required" on the enterprise application: unassigned clients get AADSTS501051. */
  assignmentRequired: z.boolean().default(false),
  /**
   * Tokens for this resource in a Microsoft first-party format, as Microsoft Graph's are: a `nonce`
   * in the JWT header and a signature no standard validator accepts outside the resource itself
   * (docs/REFERENCE.md §7). A gateway refuses them for their signature whatever it thinks of `aud`.
   */
  firstPartyTokenFormat: z.boolean().default(false),
  secrets: z.array(secretSchema).default([]),
  certificates: z.array(certificateSchema).default([]),
  federatedCredentials: z.array(federatedCredentialSchema).default([]),
});

const roleAssignmentSchema = z.strictObject({
  /** The assigned client: an app's clientId or a managed identity's clientId. */
  clientId: guid,
  resourceClientId: guid,
  roleId: guid,
});

const managedIdentitySchema = z.strictObject({
  clientId: guid,
  /** Object id of the identity's service principal: `oid`/`sub` of its tokens. */
  principalId: guid,
});

const tenantModelSchema = z.strictObject({
  tenantId: guid,
  /** The national cloud the tenant lives in: its issuers, federated audience and Graph host. */
  cloud: z.enum(CLOUD_NAMES).default("public"),
  apps: z.array(appSchema),
  roleAssignments: z.array(roleAssignmentSchema).default([]),
  managedIdentities: z.array(managedIdentitySchema).default([]),
});

/** A validated tenant model. */
export type TenantModel = z.output<typeof tenantModelSchema>;
/** What a model author writes: defaults (empty lists, `assignmentRequired: false`) may be left out. */
export type TenantModelInput = z.input<typeof tenantModelSchema>;
export type AppRegistration = TenantModel["apps"][number];

/** Validates a tenant model; throws `TenantModelError` for the first problem found. */
export function parseTenantModel(input: unknown): TenantModel {
  const parsed = tenantModelSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const path = issue.code === "unrecognized_keys" ? [...issue.path, issue.keys[0]!] : issue.path;
    throw new TenantModelError(formatPath(path), describeIssue(issue));
  }
  const problem = findInconsistency(parsed.data);
  if (problem !== undefined) throw new TenantModelError(problem.path, problem.problem);
  return parsed.data;
}

/** `["apps", 1, "appRoles", 0, "value"]` -> `apps[1].appRoles[0].value`. */
function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else out += out === "" ? String(part) : `.${String(part)}`;
  }
  return out === "" ? "(model)" : out;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case "unrecognized_keys":
      return "unknown key";
    case "invalid_type":
      return issue.input === undefined
        ? "is required"
        : `must be ${issue.expected === "union" ? "one of the allowed values" : `a ${issue.expected}`}`;
    case "too_small":
      if (issue.origin === "string") return "must not be empty";
      if (issue.origin === "array") return `must have at least ${Number(issue.minimum)} item(s)`;
      return issue.message;
    case "invalid_format":
      return `must be a valid ${issue.format}`;
    case "invalid_value":
      return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`;
    case "invalid_union":
      return "must be 1, 2 or null";
    default:
      return issue.message;
  }
}

interface Problem {
  path: string;
  problem: string;
}

/** Rules that span elements: unique ids, assignments that resolve, certificates that parse. */
function findInconsistency(model: TenantModel): Problem | undefined {
  const clientIds = new Map<string, string>();
  const claim = (id: string, path: string): Problem | undefined => {
    const key = id.toLowerCase();
    const first = clientIds.get(key);
    if (first !== undefined) return { path, problem: `duplicate client id ${id} (also ${first})` };
    clientIds.set(key, path);
    return undefined;
  };
  const appIdUris = new Map<string, string>();

  for (const [i, app] of model.apps.entries()) {
    const dup = claim(app.clientId, `apps[${i}].clientId`);
    if (dup) return dup;
    if (app.appIdUri !== undefined) {
      const key = normaliseResource(app.appIdUri);
      const first = appIdUris.get(key);
      if (first !== undefined) return { path: `apps[${i}].appIdUri`, problem: `duplicate App ID URI (also ${first})` };
      appIdUris.set(key, `apps[${i}].appIdUri`);
    }
    const roleIds = new Set<string>();
    for (const [j, role] of app.appRoles.entries()) {
      if (roleIds.has(role.id.toLowerCase()))
        return { path: `apps[${i}].appRoles[${j}].id`, problem: "duplicate app role id" };
      roleIds.add(role.id.toLowerCase());
    }
    for (const [j, cert] of app.certificates.entries()) {
      try {
        new X509Certificate(cert.certPem);
      } catch {
        return { path: `apps[${i}].certificates[${j}].certPem`, problem: "is not a PEM X.509 certificate" };
      }
    }
  }
  for (const [i, mi] of model.managedIdentities.entries()) {
    const dup = claim(mi.clientId, `managedIdentities[${i}].clientId`);
    if (dup) return dup;
  }
  for (const [i, ra] of model.roleAssignments.entries()) {
    if (!clientIds.has(ra.clientId.toLowerCase())) {
      return {
        path: `roleAssignments[${i}].clientId`,
        problem: `no app or managed identity has client id ${ra.clientId}`,
      };
    }
    const resource = model.apps.find((a) => sameId(a.clientId, ra.resourceClientId));
    if (resource === undefined) {
      return { path: `roleAssignments[${i}].resourceClientId`, problem: `no app has client id ${ra.resourceClientId}` };
    }
    const role = resource.appRoles.find((r) => sameId(r.id, ra.roleId));
    if (role === undefined) {
      return {
        path: `roleAssignments[${i}].roleId`,
        problem: `app ${resource.displayName} has no app role ${ra.roleId}`,
      };
    }
    if (!role.allowedMemberTypes.includes("Application")) {
      return {
        path: `roleAssignments[${i}].roleId`,
        problem: `app role ${role.value} does not allow member type Application`,
      };
    }
  }
  return undefined;
}

export function sameId(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/** Resource identifiers compare case-insensitively and without a trailing slash. */
export function normaliseResource(resource: string): string {
  return resource.replace(/\/+$/, "").toLowerCase();
}

export { createDefaultTenant, type DefaultTenant } from "./default-tenant.js";
