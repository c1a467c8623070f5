// Findings about which tenants and issuers a check accepts: any tenant (multi-tenant metadata),
// no issuer check, metadata of the other token version, and the API's token version or tenant.
import { isGuid, isMultiTenantAlias, type TokenVersion } from "../../entra/issuers.js";
import type { ValidateJwtPolicy } from "../types.js";
import type { NotJudged } from "./not-judged.js";
import {
  acceptedEntraShapes,
  audienceKind,
  entraOpenIdConfig,
  multiTenantConfig,
  tenantRestriction,
  UNKNOWN_TENANT,
} from "./premises.js";
import type { Draft, Surroundings } from "./rule.js";

/** validate-azure-ad-token on a multi-tenant alias takes tokens of every tenant. */
export function lintTenant(check: ValidateJwtPolicy, around: Surroundings, entra: string | undefined): Draft[] {
  return anyTenant(check, around, entra);
}

export function anyTenant(check: ValidateJwtPolicy, around: Surroundings, entra: string | undefined): Draft[] {
  const config = multiTenantConfig(check);
  if (config === undefined || entra === undefined) return [];
  const restricted =
    check.issuers !== undefined ||
    check.unresolvedInputs.some((u) => u.input === "issuers") ||
    tenantRestriction(check, around.policy);
  if (restricted) return [];
  const firstParty = (check.audiences ?? []).filter((a) => audienceKind(a) === "first-party");
  return [
    {
      code: "any-tenant-accepted",
      severity: "error",
      element: `${check.element}/openid-config`,
      message: `${config} is the multi-tenant metadata and nothing restricts the tenant (no <issuers>, no tid check): tokens issued by any Entra tenant are accepted${firstParty.length > 0 ? `, and the audience ${firstParty.join(", ")} is a Microsoft resource every tenant's users and apps can get tokens for` : ""}`,
      fix: "Use the tenant's own metadata (https://login.microsoftonline.com/{tenant}/v2.0/.well-known/openid-configuration), or list the accepted tenants' issuers in <issuers>, or require the tid claim.",
      premise: entra,
    },
  ];
}

export function lintIssuers(
  jwt: ValidateJwtPolicy,
  around: Surroundings,
  entra: string | undefined,
  notJudged: NotJudged,
): Draft[] {
  const { context } = around;
  const findings: Draft[] = [...anyTenant(jwt, around, entra)];
  const configShapes = jwt.openIdConfigUrls.map(entraOpenIdConfig).filter((s) => s !== undefined);
  const accepted = acceptedEntraShapes(jwt);
  const element = accepted.from === "issuers" ? "validate-jwt/issuers" : "validate-jwt/openid-config";

  if (
    jwt.issuers === undefined &&
    jwt.openIdConfigUrls.length === 0 &&
    notJudged.visible("no-issuer-check", "issuers", "openid-config")
  ) {
    findings.push({
      code: "no-issuer-check",
      // Info: with keys in the policy itself, whoever holds the key is the issuer; the issuer claim adds little.
      severity: "info",
      element: "validate-jwt",
      message:
        "no <issuers> and no openid-config: the token's issuer claim is not checked (the inline keys decide who can sign)",
      fix: "Add <issuers> with the token service's issuer (for Entra ID: https://login.microsoftonline.com/{tenant}/v2.0, or the v1 issuer if the API issues v1 tokens).",
    });
  }

  if (
    jwt.issuers !== undefined &&
    configShapes.length > 0 &&
    notJudged.visible("openid-config-issuer-mismatch", "issuers", "openid-config")
  ) {
    const listed = new Set(accepted.shapes.map((s) => s.version));
    const stale = configShapes.filter((s) => listed.size > 0 && !listed.has(s.version));
    if (stale.length > 0) {
      findings.push({
        code: "openid-config-issuer-mismatch",
        severity: "error",
        element: "validate-jwt/openid-config",
        message: `openid-config is the v${stale[0]!.version} metadata but <issuers> lists only v${[...listed].join("/")} issuers: v1 tokens are validated with v1 metadata and v2 tokens with v2 metadata, so one of them is stale`,
        fix: "Use the metadata of the version the API issues: v1 /{tenant}/.well-known/openid-configuration (issuer https://sts.windows.net/{tenant}/), v2 /{tenant}/v2.0/.well-known/openid-configuration (issuer https://login.microsoftonline.com/{tenant}/v2.0).",
        ...(entra ? { premise: entra } : {}),
      });
    }
  }

  const versions = new Set(accepted.shapes.map((s) => s.version));
  if (context.tokenVersion !== undefined && versions.size > 0 && !versions.has(context.tokenVersion)) {
    const other = context.tokenVersion === 1 ? 2 : 1;
    findings.push({
      code: "token-version-mismatch",
      severity: "error",
      element,
      message: `the API's registration issues v${context.tokenVersion} tokens but the policy accepts only v${[...versions].join("/")} issuers (${versionIssuer(other)} vs ${versionIssuer(context.tokenVersion)}): every token is refused`,
      fix: `Set accessTokenAcceptedVersion to ${other} in the API app registration's manifest, or make openid-config and <issuers> v${context.tokenVersion}.`,
    });
  }

  const tenants = new Set(
    accepted.shapes.map((s) => s.tenant.toLowerCase()).filter((t) => !isMultiTenantAlias(t) && t !== UNKNOWN_TENANT),
  );
  if (
    context.tenantId !== undefined &&
    isGuid(context.tenantId) &&
    tenants.size > 0 &&
    !tenants.has(context.tenantId.toLowerCase())
  ) {
    findings.push({
      code: "tenant-mismatch",
      severity: "error",
      element,
      message: `the policy accepts tokens of tenant ${[...tenants].join(", ")}, not of tenant ${context.tenantId}`,
      fix: "Put the API's tenant id in the openid-config URL and <issuers>.",
    });
  }
  return findings;
}

export function versionIssuer(version: TokenVersion): string {
  return version === 1 ? "sts.windows.net" : "login.microsoftonline.com/.../v2.0";
}
