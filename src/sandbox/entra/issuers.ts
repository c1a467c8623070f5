import { CLOUDS, type CloudName } from "../../entra/clouds.js";
import { issuerFor } from "../../entra/issuers.js";

/**
 * The real Entra issuer strings of the tenant's cloud (docs/REFERENCE.md §1 and §7), kept even though the
 * emulator serves from loopback, so that APIM policies and validators written for Azure work unchanged
 * against the sandbox.
 */
export function v1Issuer(tenantId: string, cloud: CloudName = "public"): string {
  return issuerFor(1, tenantId, CLOUDS[cloud]);
}

export function v2Issuer(tenantId: string, cloud: CloudName = "public"): string {
  return issuerFor(2, tenantId, CLOUDS[cloud]);
}
