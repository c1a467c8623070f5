import { CLOUDS } from "../entra/clouds.js";

/**
 * Every national cloud's Entra authority and issuer hosts: `openid-config` URLs on them are served by
 * the emulated tenant, so policies written for Azure load unchanged.
 */
export const ENTRA_HOSTS: ReadonlySet<string> = new Set(
  Object.values(CLOUDS).flatMap((c) => [c.authorityHost, ...c.authorityAliases, c.v1IssuerHost, c.v2IssuerHost]),
);

/**
 * A policy as the probe reads it from the sandbox (its policy file, its APIOps copy): `openid-config`
 * URLs on Entra's hosts point at the emulated tenant's origin; issuers keep Azure's strings.
 */
export function openIdConfigOnEmulator(policyXml: string, entraOrigin: string): string {
  return policyXml.replace(/(<openid-config\s+url=")https:\/\/([^/"]+)\//g, (whole, start: string, host: string) =>
    ENTRA_HOSTS.has(host.toLowerCase()) ? `${start}${entraOrigin}/` : whole,
  );
}
