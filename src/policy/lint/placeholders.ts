// A {placeholder} left from a documentation example (placeholder-left): APIM takes it literally.
import { clip } from "../parse-values.js";
import type { ValidateJwtPolicy } from "../types.js";
import type { Draft } from "./rule.js";

/**
 * A `{placeholder}` (single braces: `{{name}}` is a named value) as Microsoft's policy reference
 * pages write what to fill in, e.g. `{tenant-id-or-domain}` or `{audience-value}`. APIM takes it
 * literally: the metadata URL cannot be fetched, and no token carries that audience, issuer or value.
 */
const PLACEHOLDER = /(?<!\{)\{(?!\{)[^{}]*[A-Za-z][^{}]*\}(?!\})/;

export function placeholderFindings(check: ValidateJwtPolicy): Draft[] {
  const values: [string, string][] = [
    ...check.openIdConfigUrls.map((v): [string, string] => ["openid-config/@url", v]),
    ...(check.audiences ?? []).map((v): [string, string] => ["audiences/audience", v]),
    ...(check.issuers ?? []).map((v): [string, string] => ["issuers/issuer", v]),
    ...(check.clientApplicationIds ?? []).map((v): [string, string] => ["client-application-ids/application-id", v]),
    ...check.requiredClaims.flatMap((c) =>
      c.values.map((v): [string, string] => [`required-claims/claim[@name=${c.name}]/value`, v]),
    ),
  ];
  return values
    .flatMap(([path, value]): [string, string, string][] => {
      const placeholder = value.trimStart().startsWith("@") ? undefined : PLACEHOLDER.exec(value)?.[0];
      return placeholder === undefined ? [] : [[path, value, placeholder]];
    })
    .map(([path, value, placeholder]) => ({
      code: "placeholder-left" as const,
      severity: "error" as const,
      element: `${check.element}/${path}`,
      message: `${value === placeholder ? placeholder : `${placeholder} in ${clip(value)}`} is a placeholder left from a documentation example: APIM takes it literally, so ${path === "openid-config/@url" ? "the metadata cannot be fetched and every token is refused" : "no token matches it"}`,
      fix: "Put the real value in its place (the tenant ID, the API's App ID URI or client ID, the issuer, the role), or a {{named value}} that holds it.",
    }));
}
