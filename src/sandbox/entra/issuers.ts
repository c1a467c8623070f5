/**
 * The real Entra issuer strings (FACTS §1), kept even though the emulator serves from loopback, so
 * that APIM policies and validators written for Azure work unchanged against the sandbox.
 */
export function v1Issuer(tenantId: string): string {
  return `https://sts.windows.net/${tenantId}/`;
}

export function v2Issuer(tenantId: string): string {
  return `https://login.microsoftonline.com/${tenantId}/v2.0`;
}
