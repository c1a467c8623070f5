import { randomBytes, randomUUID } from "node:crypto";
import { cachedRsaKeyPair, privateKeyPem, randomSerialNumber, RSA_SHA256 } from "../tls/keys.js";
import { x509 } from "../tls/x509.js";
import {
  AZURE_MONITOR,
  GRAPH,
  ORDERS_API,
  PROBE_CLIENT,
  PROBE_MANAGED_IDENTITY,
  SANDBOX_TENANT_ID,
  UNASSIGNED_CLIENT,
} from "../identities.js";
import { CLOUDS, type CloudName } from "../../entra/clouds.js";
import { APPLICATION_READ_ALL } from "./graph.js";
import { v2Issuer } from "./issuers.js";
import { parseTenantModel, type TenantModel } from "./model.js";

/**
 * Service-principal object ids that src/sandbox/identities.ts does not fix (nothing outside the
 * emulator sees them in a token: resources are never callers here). Fixed for stable runs.
 */
const ORDERS_API_OBJECT_ID = "5c0e8a41-7f92-4d3b-b6a1-0e4d2f9c8b75";
const GRAPH_OBJECT_ID = "1e7b3f90-2c4d-4a86-9e05-7d8c6b2a4f13";
const AZURE_MONITOR_OBJECT_ID = "8a2d6c4e-3f1b-4d97-b5e0-6c9a1f3d7b42";

export interface GeneratedSecret {
  /** keyId of the secret (the portal's "Secret ID"). */
  id: string;
  value: string;
}

export interface ClientCertificate {
  certPem: string;
  /** PKCS#8 PEM private key. */
  keyPem: string;
  /** Hex SHA-256 thumbprint (MSAL's `clientCertificate.thumbprintSha256`). */
  thumbprintSha256: string;
  /** Hex SHA-1 thumbprint (the portal's "Thumbprint"). */
  thumbprintSha1: string;
}

export interface DefaultTenant {
  model: TenantModel;
  probeClient: { clientId: string; secret: GeneratedSecret; certificate: ClientCertificate };
  unassignedClient: { clientId: string; secret: GeneratedSecret };
}

/**
 * The sandbox's default tenant, from the fixed ids in src/sandbox/identities.ts. Secrets and the
 * probe's certificate are generated per call and returned only here, for the sandbox's settings.
 */
export async function createDefaultTenant(
  options: { now?: () => number; cloud?: CloudName } = {},
): Promise<DefaultTenant> {
  const now = options.now ?? Date.now;
  const cloud = CLOUDS[options.cloud ?? "public"];
  const expiresAt = new Date(now() + 180 * 24 * 3600 * 1000).toISOString();
  const probeSecret = generateSecret();
  const strangerSecret = generateSecret();
  const certificate = await generateClientCertificate(PROBE_CLIENT.displayName, now());

  const model = parseTenantModel({
    tenantId: SANDBOX_TENANT_ID,
    cloud: cloud.name,
    apps: [
      {
        displayName: ORDERS_API.displayName,
        clientId: ORDERS_API.clientId,
        objectId: ORDERS_API_OBJECT_ID,
        appIdUri: ORDERS_API.appIdUri,
        accessTokenAcceptedVersion: 2,
        appRoles: [{ id: ORDERS_API.roleId, value: ORDERS_API.role, allowedMemberTypes: ["Application"] }],
        assignmentRequired: true,
      },
      {
        displayName: PROBE_CLIENT.displayName,
        clientId: PROBE_CLIENT.clientId,
        objectId: PROBE_CLIENT.objectId,
        // v2, like the API: the probe's own-app token (the wrong-audience probe's) then differs from
        // the valid token in its audience only, which is what makes its refusal prove the aud rule.
        accessTokenAcceptedVersion: 2,
        // The API's role value defined on the probe's own app too (and granted below): otherwise a
        // gateway that requires the role refuses the own-app token for its roles, whatever its aud rule.
        appRoles: [{ id: PROBE_CLIENT.ownRoleId, value: ORDERS_API.role, allowedMemberTypes: ["Application"] }],
        secrets: [{ ...probeSecret, expiresAt }],
        certificates: [{ certPem: certificate.certPem }],
        federatedCredentials: [
          {
            issuer: v2Issuer(SANDBOX_TENANT_ID, cloud.name),
            subject: PROBE_MANAGED_IDENTITY.principalId,
            audiences: [cloud.federatedAudience],
          },
        ],
      },
      {
        displayName: UNASSIGNED_CLIENT.displayName,
        clientId: UNASSIGNED_CLIENT.clientId,
        objectId: UNASSIGNED_CLIENT.objectId,
        secrets: [{ ...strangerSecret, expiresAt }],
      },
      {
        displayName: GRAPH.displayName,
        clientId: GRAPH.clientId,
        objectId: GRAPH_OBJECT_ID,
        appIdUri: `https://${cloud.graphHost}`,
        accessTokenAcceptedVersion: 1,
        firstPartyTokenFormat: true,
        // What credential-expiry needs to read the probe's own registration (granted to the probe below).
        appRoles: [
          { id: APPLICATION_READ_ALL.id, value: APPLICATION_READ_ALL.value, allowedMemberTypes: ["Application"] },
        ],
      },
      {
        // Entra-authenticated ingestion's audience: Azure resources take v1 tokens.
        displayName: AZURE_MONITOR.displayName,
        clientId: AZURE_MONITOR.clientId,
        objectId: AZURE_MONITOR_OBJECT_ID,
        appIdUri: AZURE_MONITOR.appIdUri,
        accessTokenAcceptedVersion: 1,
      },
    ],
    roleAssignments: [
      { clientId: PROBE_CLIENT.clientId, resourceClientId: ORDERS_API.clientId, roleId: ORDERS_API.roleId },
      { clientId: PROBE_CLIENT.clientId, resourceClientId: PROBE_CLIENT.clientId, roleId: PROBE_CLIENT.ownRoleId },
      // Graph's Application.Read.All, with admin consent: credential-expiry reads the secrets' end dates.
      { clientId: PROBE_CLIENT.clientId, resourceClientId: GRAPH.clientId, roleId: APPLICATION_READ_ALL.id },
    ],
    managedIdentities: [{ ...PROBE_MANAGED_IDENTITY }],
  });

  return {
    model,
    probeClient: { clientId: PROBE_CLIENT.clientId, secret: probeSecret, certificate },
    unassignedClient: { clientId: UNASSIGNED_CLIENT.clientId, secret: strangerSecret },
  };
}

const SECRET_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~";

/** 40 characters shaped like a portal-generated secret value (`xxx8Q~...`), random. */
export function generateSecret(): GeneratedSecret {
  const body = [...randomBytes(37)].map((b) => SECRET_ALPHABET[b % SECRET_ALPHABET.length]).join("");
  return { id: randomUUID(), value: `${body.slice(0, 3)}8Q~${body.slice(3)}` };
}

/** A self-signed client certificate, as a user would upload to "Certificates & secrets". */
export async function generateClientCertificate(commonName: string, nowMs: number): Promise<ClientCertificate> {
  const keys = await cachedRsaKeyPair(`client-certificate:${commonName}`);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerialNumber(),
    name: `CN=${commonName}`,
    notBefore: new Date(nowMs - 3600_000),
    notAfter: new Date(nowMs + 365 * 24 * 3600_000),
    signingAlgorithm: RSA_SHA256,
    keys,
    extensions: [new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true)],
  });
  const hex = (buf: ArrayBuffer): string => Buffer.from(buf).toString("hex");
  return {
    certPem: cert.toString("pem"),
    keyPem: await privateKeyPem(keys.privateKey),
    thumbprintSha256: hex(await cert.getThumbprint("SHA-256")),
    thumbprintSha1: hex(await cert.getThumbprint("SHA-1")),
  };
}
