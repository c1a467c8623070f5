// Findings about where the token is read from: a query parameter, or the Authorization scheme.
import type { ValidateJwtPolicy } from "../types.js";
import type { Draft } from "./rule.js";

export function lintTokenSource(jwt: ValidateJwtPolicy): Draft[] {
  const source = jwt.tokenSource;
  if (source.kind === "query") {
    return [
      {
        code: "token-in-query",
        severity: "warning",
        element: "validate-jwt/@query-parameter-name",
        message: `the token is read from query parameter ${source.name}: URLs end up in logs and browser history`,
        fix: 'Read it from the Authorization header: header-name="Authorization" require-scheme="Bearer".',
      },
    ];
  }
  if (source.kind !== "header") return [];
  const isAuthorization = source.name.toLowerCase() === "authorization";
  if (isAuthorization && jwt.requireScheme === undefined) {
    return [
      {
        code: "no-require-scheme",
        // Info: the token is still validated in full; only its scheme is not insisted on.
        severity: "info",
        element: "validate-jwt/@require-scheme",
        message:
          "header-name=\"Authorization\" without require-scheme: a bare token is accepted as well as 'Bearer <token>' (it is still validated in full)",
        fix: "Add require-scheme=\"Bearer\" so callers must send 'Authorization: Bearer <token>'.",
      },
    ];
  }
  if (!isAuthorization && jwt.requireScheme !== undefined) {
    return [
      {
        code: "require-scheme-ignored",
        severity: "info",
        element: "validate-jwt/@require-scheme",
        message: `require-scheme is ignored with the custom header ${source.name} ([A] validate-jwt)`,
        fix: "Remove require-scheme, or read the token from the Authorization header.",
      },
    ];
  }
  return [];
}
