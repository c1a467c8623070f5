import { UnsafeRequestError } from "../errors.js";

/**
 * Tokens and subscription keys only go to the https origins the settings configured: the API
 * targets and the authority host. Loopback hosts are fine (the sandbox) but still over https.
 * Returns the parsed URL, or throws UnsafeRequestError without quoting the URL (its query could
 * carry a key).
 */
export function assertAllowedUrl(url: string, allowedOrigins: ReadonlySet<string>): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (error) {
    throw new UnsafeRequestError("refused a request to a malformed URL", { cause: error });
  }
  if (parsed.protocol !== "https:") {
    throw new UnsafeRequestError(
      `refused a ${parsed.protocol.replace(":", "")} request to ${parsed.host}: only https is allowed`,
    );
  }
  if (!allowedOrigins.has(parsed.origin)) {
    throw new UnsafeRequestError(`refused a request to ${parsed.origin}: not a configured origin`);
  }
  return parsed;
}
