import { join } from "node:path";
import { composeEffectivePolicy, validatesOnEveryPath, type ApimPolicy } from "../policy/index.js";
import { namedValueMap, scopesFor, type ApiopsFolder } from "./folder.js";
import { readSpecification } from "./specification.js";

/** A target of a targets file, as coverage reads it. */
export interface CoverageTarget {
  url: string;
  apiopsApi?: string;
  acceptOpen?: string;
}

/** One API operation of the folder and what guards it. */
export interface CoverageRow {
  api: string;
  /** `GET /health`; the API as a whole when its specification lists no operation. */
  operation: string;
  probed: boolean;
  /** Where tokens are validated (`global policy.xml:6`), the unconditional checks first; empty: none. */
  tokenValidation: string[];
  /** Some way through the inbound section (a `<choose>` branch) meets no token check and no refusal. */
  conditionalOnly: boolean;
  subscriptionRequired: boolean;
  ipFiltered: boolean;
  rateLimited: boolean;
  /** A target for this API accepts it as open by design (`acceptOpen`), with its reason. */
  acceptedOpen?: string;
}

/**
 * Per API and operation: probed or not (by the targets given), where the token is validated (scope,
 * file, line) or that nothing validates it, whether a subscription is required, and whether an
 * ip-filter or a rate limit / quota stands in the effective policy.
 */
export function coverageOf(
  folder: ApiopsFolder,
  targets: readonly CoverageTarget[] = [],
  options: { product?: string } = {},
): CoverageRow[] {
  const namedValues = namedValueMap(folder);
  const rows: CoverageRow[] = [];
  for (const api of folder.apis) {
    const spec = readSpecification(join(folder.root, api.folder), folder.root);
    const operations = spec.operations && spec.operations.length > 0 ? spec.operations : [undefined];
    for (const op of operations) {
      const opFolder =
        op?.operationId !== undefined
          ? api.operations.find((o) => o.name.toLowerCase() === op.operationId!.toLowerCase())?.name
          : undefined;
      const policy = composeEffectivePolicy(
        scopesFor(folder, api, {
          ...(opFolder ? { operation: opFolder } : {}),
          ...(options.product ? { product: options.product } : {}),
        }).scopes,
        folder.fragments,
        { namedValues },
      );
      const forApi = targets.filter(
        (t) =>
          t.apiopsApi === api.name ||
          new URL(t.url).pathname.replace(/^\/+/, "").startsWith(api.path.replace(/^\/+/, "")),
      );
      const acceptedOpen = forApi.find((t) => t.acceptOpen !== undefined)?.acceptOpen;
      rows.push({
        api: api.name,
        operation: op ? `${op.method} ${op.path}` : "(the API)",
        probed: op
          ? forApi.some((t) => !op.path.includes("{") && new URL(t.url).pathname.endsWith(op.path))
          : forApi.length > 0,
        tokenValidation: validationSites(policy),
        // Every <choose> branch validating (or refusing) is no gap: APIM runs exactly one of them.
        conditionalOnly: policy.tokenChecks.length > 0 && !validatesOnEveryPath(policy.inbound),
        subscriptionRequired: api.subscriptionRequired,
        ipFiltered: policy.accessRestrictions.some((r) => r.name === "ip-filter"),
        rateLimited: policy.accessRestrictions.some((r) => r.name !== "ip-filter" && r.name !== "check-header"),
        ...(acceptedOpen !== undefined ? { acceptedOpen } : {}),
      });
    }
  }
  return rows;
}

function validationSites(policy: ApimPolicy): string[] {
  return [...policy.tokenChecks]
    .sort((a, b) => a.conditions.length - b.conditions.length)
    .map(
      (c) =>
        `${c.source ? `${c.source.scope} ${c.source.file}` : "?"}${c.line > 0 ? `:${c.line}` : ""}${c.conditions.length > 0 ? ` (only when ${c.conditions.join(" and ")})` : ""}`,
    );
}

/** Reachable without token validation: nothing validates it, or only on some branch. */
export function unguarded(row: CoverageRow): boolean {
  return row.tokenValidation.length === 0 || row.conditionalOnly;
}

/** Unguarded and not accepted as open by design: what a pipeline gate fails on. */
export function openUnaccepted(row: CoverageRow): boolean {
  return unguarded(row) && row.acceptedOpen === undefined;
}
