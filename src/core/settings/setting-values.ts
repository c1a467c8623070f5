/**
 * Values that are present but cannot be what they stand for: an App Service Key Vault reference
 * that was not resolved, the sample file's placeholders, and values that cannot travel as an HTTP
 * header. Every message is ours and never quotes the value (some are secrets).
 */

/**
 * `@Microsoft.KeyVault(SecretUri=...)` or `@Microsoft.KeyVault(VaultName=...;SecretName=...)`. App
 * Service replaces a reference by the secret when it can; when it cannot (no identity, no access, no
 * such secret), the app sees the reference text itself.
 * https://learn.microsoft.com/azure/app-service/app-service-key-vault-references
 */
const KEY_VAULT_REFERENCE = /^\s*@Microsoft\.KeyVault\s*\(/i;

/**
 * `@Microsoft.AppConfiguration(Endpoint=...; Key=...)`: App Service resolves these the same way, from
 * an App Configuration store, and leaves the text in place when it cannot.
 * https://learn.microsoft.com/azure/app-service/app-service-configuration-references
 */
const APP_CONFIGURATION_REFERENCE = /^\s*@Microsoft\.AppConfiguration\s*\(/i;

/** The sample settings file's placeholders: `<tenant-guid>`, `https://<apim-name>.azure-api.net/...`. */
const PLACEHOLDER = /<[^<>\r\n]{1,200}>/;

export const KEY_VAULT_REFERENCE_FIX =
  "App Service could not resolve it, so the app sees the reference text instead of the secret. Give the app's managed identity " +
  "the Key Vault Secrets User role on the vault (or a Get secrets access policy), check the reference's status in the portal " +
  "(the Function App's Settings > Environment variables: the setting's source shows the error), then restart the app. " +
  "See https://learn.microsoft.com/azure/app-service/app-service-key-vault-references. " +
  "Only App Service resolves references: for the CLI (a settings file, a pipeline's variables) give the secret's value itself, " +
  "e.g. from az keyvault secret show --vault-name <vault> --name <secret> --query value -o tsv.";

export const APP_CONFIGURATION_REFERENCE_FIX =
  "App Service could not resolve it, so the app sees the reference text instead of the value. Give the app's managed identity " +
  "the App Configuration Data Reader role on the store (and Key Vault Secrets User on the vault when the key-value is itself a " +
  "Key Vault reference), check the reference's status in the portal (the Function App's Settings > Environment variables: " +
  "the setting's source shows the error), then restart the app. " +
  "See https://learn.microsoft.com/azure/app-service/app-service-configuration-references";

/** Why a present value is not a real value (an unresolved Key Vault or App Configuration reference, a placeholder), or undefined. */
export function unresolvedValueProblem(value: string): string | undefined {
  if (KEY_VAULT_REFERENCE.test(value)) return `is an unresolved Key Vault reference: ${KEY_VAULT_REFERENCE_FIX}`;
  if (APP_CONFIGURATION_REFERENCE.test(value))
    return `is an unresolved App Configuration reference: ${APP_CONFIGURATION_REFERENCE_FIX}`;
  if (PLACEHOLDER.test(value))
    return "still holds a placeholder <...> from the sample settings file: replace it with the real value";
  return undefined;
}

/**
 * Why a value cannot be sent as an HTTP header value, or undefined. RFC 9110 section 5.5 allows
 * visible ASCII, space and tab (obs-text is not interoperable); CR, LF and NUL are refused by every
 * client, and a key saved from a file often keeps its final newline.
 */
export function headerValueProblem(value: string): string | undefined {
  return (
    controlCharacterProblem(value) ??
    (/[\u0080-\uffff]/.test(value) ? "contains a non-ASCII character (HTTP header values must be ASCII)" : undefined)
  );
}

/** Why a secret cannot be what was meant: a line break, NUL or other control character (never part of a real secret). */
export function controlCharacterProblem(value: string): string | undefined {
  if (/[\r\n]/.test(value))
    return "contains a line break (CR or LF; a value saved from a file often keeps its final newline): remove it";
  if (value.includes("\0")) return "contains a NUL character";
  // eslint-disable-next-line no-control-regex
  if (/[\x01-\x08\x0b-\x1f\x7f]/.test(value)) return "contains a control character";
  return undefined;
}

/**
 * Why an Entra client secret cannot be the one meant, or undefined: a control character, or a space at
 * either end (a secret Entra generates has none; one pasted into a portal field often keeps one), which
 * Entra would refuse as a wrong secret (AADSTS7000215) and send the reader after the wrong fix.
 */
export function clientSecretProblem(value: string): string | undefined {
  return (
    controlCharacterProblem(value) ??
    (value.trim() !== value
      ? "starts or ends with a space (a secret Entra generates has none; a pasted value often keeps one): remove it"
      : undefined)
  );
}

/** Why a subscription key (a header value that must match exactly) cannot be used, or undefined. */
export function keyValueProblem(value: string): string | undefined {
  return headerValueProblem(value) ?? (value.trim() !== value ? "starts or ends with a space: remove it" : undefined);
}

/**
 * Header names the transport owns: hop-by-hop fields (RFC 9110 section 7.6.1) and the framing and
 * routing ones. Set by hand they corrupt the request or make the client refuse it.
 */
const TRANSPORT_HEADERS = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "te",
  "trailer",
  "upgrade",
  "host",
  "content-length",
  "expect",
]);

export function transportHeaderProblem(name: string): string | undefined {
  return TRANSPORT_HEADERS.has(name.toLowerCase())
    ? "must not be a hop-by-hop or framing header (the HTTP client sets it)"
    : undefined;
}
