/**
 * The fewest token requests a run can make: one per client and scope per token lifetime (Entra
 * throttles a client that asks for more, docs/REFERENCE.md §2). The engine's matrix needs the probe
 * client's token for each target scope and for the wrong-audience scope, and the unassigned
 * client's token for each target scope when that client is configured, and, when credential-expiry
 * reads secrets from Microsoft Graph, the probe client's Graph token.
 */
export function minimumTokenRequests(input: {
  targetScopes: readonly string[];
  wrongAudienceScope: string;
  unassignedClient: boolean;
  /** The Graph scope credential-expiry asks for, when it reads a secret's end date there. */
  graphScope?: string;
  elapsedMs: number;
  tokenLifetimeMs: number;
}): number {
  const scopes = new Set(input.targetScopes);
  const pairs = new Set<string>([...scopes].map((s) => `probe ${s}`));
  pairs.add(`probe ${input.wrongAudienceScope}`);
  if (input.unassignedClient) for (const s of scopes) pairs.add(`unassigned ${s}`);
  if (input.graphScope !== undefined) pairs.add(`probe ${input.graphScope}`);
  const lifetimes = Math.max(1, Math.ceil(input.elapsedMs / input.tokenLifetimeMs));
  return pairs.size * lifetimes;
}
