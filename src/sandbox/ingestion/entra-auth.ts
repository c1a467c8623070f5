import { createLocalJWKSet, jwtVerify } from "jose";
import type { SigningKeyResolver } from "../../policy/index.js";
import type { BearerVerdict } from "./emulator.js";

export interface EntraIngestionAuth {
  /** The tenant's v1 metadata (Azure resources take v1 tokens), as the resolver fetches it. */
  metadataUrl: string;
  /** `https://sts.windows.net/{tid}/` or its cloud's equivalent. */
  issuer: string;
  /** `https://monitor.azure.com`. */
  audience: string;
  /** Object ids (`oid`) that hold Monitoring Metrics Publisher on the component. */
  publishers: readonly string[];
  keys: SigningKeyResolver;
}

/**
 * What Application Insights with local authentication disabled does with a `/track` call's token:
 * a token signed by the tenant, for Azure Monitor, from an identity with the publisher role.
 */
export function entraIngestionVerifier(auth: EntraIngestionAuth): (token: string) => Promise<BearerVerdict> {
  return async (token) => {
    let oid: unknown;
    try {
      const config = await auth.keys.resolve(auth.metadataUrl);
      const { payload } = await jwtVerify(token, createLocalJWKSet({ keys: [...config.keys] }), {
        issuer: auth.issuer,
        audience: auth.audience,
      });
      oid = payload["oid"];
    } catch {
      return {
        ok: false,
        status: 401,
        message:
          "The Entra ID token is not valid for Azure Monitor ingestion (signature, issuer, audience or lifetime)",
      };
    }
    if (typeof oid !== "string" || !auth.publishers.includes(oid)) {
      return {
        ok: false,
        status: 403,
        message: "The identity lacks the Monitoring Metrics Publisher role on this Application Insights resource",
      };
    }
    return { ok: true };
  };
}
