import { X509Certificate, createPrivateKey } from "node:crypto";
import { resolve } from "node:path";
import { Secret } from "./secret.js";
import type { CredentialConfig } from "./types.js";

type Problem = { setting: string; problem: string };

/**
 * The one credential the settings choose (client secret, certificate file or managed identity), or
 * undefined with the reason in `problems`.
 */
export function readCredential(
  env: Record<string, string>,
  cwd: string,
  readTextFile: (path: string) => string,
  problems: Problem[],
): CredentialConfig | undefined {
  const chosen = [
    env.PROBE_CLIENT_SECRET && "PROBE_CLIENT_SECRET",
    env.PROBE_CLIENT_CERTIFICATE_PATH && "PROBE_CLIENT_CERTIFICATE_PATH",
    env.PROBE_CREDENTIAL && "PROBE_CREDENTIAL",
  ].filter((x): x is string => Boolean(x));
  if (chosen.length === 0) {
    problems.push({
      setting: "PROBE_CLIENT_SECRET",
      problem:
        "no credential: set one of PROBE_CLIENT_SECRET, PROBE_CLIENT_CERTIFICATE_PATH or PROBE_CREDENTIAL=managed-identity",
    });
    return undefined;
  }
  if (chosen.length > 1) {
    problems.push({
      setting: chosen[1]!,
      problem: `set only one credential (also set: ${chosen.filter((c, i) => i !== 1).join(", ")})`,
    });
    return undefined;
  }
  if (env.PROBE_CLIENT_SECRET) return { kind: "secret", secret: new Secret(env.PROBE_CLIENT_SECRET) };
  if (env.PROBE_CREDENTIAL === "managed-identity") {
    return {
      kind: "managed-identity",
      ...(env.PROBE_MANAGED_IDENTITY_CLIENT_ID
        ? { managedIdentityClientId: env.PROBE_MANAGED_IDENTITY_CLIENT_ID }
        : {}),
    };
  }
  if (env.PROBE_CLIENT_CERTIFICATE_PATH)
    return readCertificate(resolve(cwd, env.PROBE_CLIENT_CERTIFICATE_PATH), readTextFile, problems);
  return undefined; // PROBE_CREDENTIAL with another value: the schema already reported it
}

const CERT_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/;
const KEY_BLOCK =
  /-----BEGIN (?:RSA |EC |ENCRYPTED )?PRIVATE KEY-----[\s\S]+?-----END (?:RSA |EC |ENCRYPTED )?PRIVATE KEY-----/;

function readCertificate(
  path: string,
  readTextFile: (path: string) => string,
  problems: Problem[],
): CredentialConfig | undefined {
  const setting = "PROBE_CLIENT_CERTIFICATE_PATH";
  let pem: string;
  try {
    pem = readTextFile(path);
  } catch {
    problems.push({ setting, problem: "file cannot be read" });
    return undefined;
  }
  const certPem = CERT_BLOCK.exec(pem)?.[0];
  const keyPem = KEY_BLOCK.exec(pem)?.[0];
  if (!certPem) problems.push({ setting, problem: "file has no PEM CERTIFICATE block" });
  if (!keyPem)
    problems.push({
      setting,
      problem: "file has no PEM PRIVATE KEY block (a PEM with certificate and private key is needed)",
    });
  if (!certPem || !keyPem) return undefined;
  try {
    const cert = new X509Certificate(certPem);
    const key = createPrivateKey(keyPem);
    if (!cert.checkPrivateKey(key)) {
      problems.push({ setting, problem: "the private key does not belong to the certificate" });
      return undefined;
    }
    return {
      kind: "certificate",
      path,
      thumbprintSha256: cert.fingerprint256.replaceAll(":", "").toLowerCase(),
      privateKey: new Secret(key.export({ type: "pkcs8", format: "pem" }).toString()),
      certificatePem: certPem,
    };
  } catch {
    problems.push({
      setting,
      problem: "certificate or private key cannot be parsed (an encrypted key is not supported)",
    });
    return undefined;
  }
}
