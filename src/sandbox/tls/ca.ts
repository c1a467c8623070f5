import { isIP } from "node:net";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { x509 } from "./x509.js";
import { cachedRsaKeyPair, privateKeyPem, randomSerialNumber, RSA_SHA256 } from "./keys.js";

export interface ServerCertificate {
  certPem: string;
  /** PKCS#8 PEM. */
  keyPem: string;
}

export interface SandboxCa {
  /** The CA certificate, PEM: what clients are told to trust. */
  readonly certPem: string;
  /**
   * A server certificate for `hosts` (default `127.0.0.1` and `localhost`), signed by this CA, valid
   * for `validDays` (default 397, the longest a public CA may issue; the expiring-certificate
   * scenario asks for 10).
   */
  issueServerCertificate(hosts?: readonly string[], options?: { validDays?: number }): Promise<ServerCertificate>;
}

const DEFAULT_HOSTS = ["127.0.0.1", "localhost"] as const;
const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * A throw-away certificate authority for the sandbox's HTTPS servers. Clients trust it explicitly
 * (undici `connect: { ca }`, `NODE_EXTRA_CA_CERTS`); nothing ever disables certificate checks.
 */
export async function createSandboxCa(): Promise<SandboxCa> {
  const caKeys = await cachedRsaKeyPair("sandbox-ca");
  const now = Date.now();
  // A per-call name keeps two CAs in one process distinguishable in TLS error messages.
  const caName = `CN=apim-smoke-probe sandbox CA ${randomSerialNumber().slice(0, 8)}, O=apim-smoke-probe`;
  const caCert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerialNumber(),
    name: caName,
    notBefore: new Date(now - DAY_MS),
    notAfter: new Date(now + 400 * DAY_MS),
    signingAlgorithm: RSA_SHA256,
    keys: caKeys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });

  return {
    certPem: caCert.toString("pem"),
    async issueServerCertificate(
      hosts: readonly string[] = DEFAULT_HOSTS,
      options: { validDays?: number } = {},
    ): Promise<ServerCertificate> {
      if (hosts.length === 0) throw new TypeError("issueServerCertificate: hosts must not be empty");
      const serverKeys = await cachedRsaKeyPair("sandbox-server");
      const issuedAt = Date.now();
      const cert = await x509.X509CertificateGenerator.create({
        serialNumber: randomSerialNumber(),
        subject: `CN=${hosts[0]}`,
        issuer: caCert.subject,
        notBefore: new Date(issuedAt - DAY_MS),
        notAfter: new Date(issuedAt + (options.validDays ?? 397) * DAY_MS),
        signingAlgorithm: RSA_SHA256,
        publicKey: serverKeys.publicKey,
        signingKey: caKeys.privateKey,
        extensions: [
          new x509.BasicConstraintsExtension(false, undefined, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
          new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
          // Node checks the SAN, not the CN; an IP literal only matches an `ip` SAN entry.
          new x509.SubjectAlternativeNameExtension(
            hosts.map((host) => (isIP(host) === 0 ? { type: "dns", value: host } : { type: "ip", value: host })),
          ),
          await x509.AuthorityKeyIdentifierExtension.create(caCert),
        ],
      });
      return { certPem: cert.toString("pem"), keyPem: await privateKeyPem(serverKeys.privateKey) };
    },
  };
}

/**
 * Writes the CA certificate to `dir/sandbox-ca.pem` and returns the path, for a child process started
 * with `NODE_EXTRA_CA_CERTS=<path>` (read by Node once, at start-up).
 */
export async function writeCaFile(ca: Pick<SandboxCa, "certPem">, dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, "sandbox-ca.pem");
  await writeFile(path, ca.certPem, { encoding: "utf8", mode: 0o644 });
  return path;
}
