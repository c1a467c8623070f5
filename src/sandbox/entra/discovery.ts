import { CLOUDS, type CloudName } from "../../entra/clouds.js";
import { v1Issuer, v2Issuer } from "./issuers.js";

/**
 * OpenID Connect metadata as Entra serves it, with the REAL issuer strings (so tokens validate against
 * policies written for Azure) but every endpoint on the emulator's origin (so clients that follow the
 * metadata, like MSAL, stay on loopback). `tenant` is a tenant id, or `{tenantid}` for the
 * tenant-independent documents (`/common/...`), as Entra does.
 */
export function v2Metadata(origin: string, tenant: string, cloud: CloudName = "public"): Record<string, unknown> {
  const base = `${origin}/${tenant}`;
  return {
    token_endpoint: `${base}/oauth2/v2.0/token`,
    token_endpoint_auth_methods_supported: ["client_secret_post", "private_key_jwt", "client_secret_basic"],
    jwks_uri: `${base}/discovery/v2.0/keys`,
    response_modes_supported: ["query", "fragment", "form_post"],
    subject_types_supported: ["pairwise"],
    id_token_signing_alg_values_supported: ["RS256"],
    response_types_supported: ["code", "id_token", "code id_token", "id_token token"],
    scopes_supported: ["openid", "profile", "email", "offline_access"],
    issuer: v2Issuer(tenant, cloud),
    request_uri_parameter_supported: false,
    userinfo_endpoint: `https://${CLOUDS[cloud].graphHost}/oidc/userinfo`,
    authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
    device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
    http_logout_supported: true,
    frontchannel_logout_supported: true,
    end_session_endpoint: `${base}/oauth2/v2.0/logout`,
    claims_supported: claimsSupported,
    kerberos_endpoint: `${base}/kerberos`,
    ...cloudInstance(cloud),
  };
}

export function v1Metadata(origin: string, tenant: string, cloud: CloudName = "public"): Record<string, unknown> {
  const base = `${origin}/${tenant}`;
  return {
    token_endpoint: `${base}/oauth2/token`,
    token_endpoint_auth_methods_supported: ["client_secret_post", "private_key_jwt", "client_secret_basic"],
    // Entra's v1 documents point at the tenant-independent key set.
    jwks_uri: `${origin}/common/discovery/keys`,
    response_modes_supported: ["query", "fragment", "form_post"],
    subject_types_supported: ["pairwise"],
    id_token_signing_alg_values_supported: ["RS256"],
    response_types_supported: ["code", "id_token", "code id_token", "token id_token", "token"],
    scopes_supported: ["openid"],
    issuer: v1Issuer(tenant, cloud),
    microsoft_multi_refresh_token: true,
    authorization_endpoint: `${base}/oauth2/authorize`,
    device_authorization_endpoint: `${base}/oauth2/devicecode`,
    http_logout_supported: true,
    frontchannel_logout_supported: true,
    end_session_endpoint: `${base}/oauth2/logout`,
    claims_supported: claimsSupported,
    check_session_iframe: `${base}/oauth2/checksession`,
    userinfo_endpoint: `${base}/openid/userinfo`,
    kerberos_endpoint: `${base}/kerberos`,
    ...cloudInstance(cloud),
  };
}

/** The cloud-instance fields both document versions carry, per cloud (the public cloud's as Entra sends them). */
function cloudInstance(cloud: CloudName): Record<string, string> {
  const c = CLOUDS[cloud];
  return {
    tenant_region_scope: cloud === "public" ? "EU" : cloud === "usgov" ? "USGov" : "CN",
    cloud_instance_name: c.authorityHost.replace(/^login\.(partner\.)?/, ""),
    msgraph_host: c.graphHost,
  };
}

const claimsSupported = [
  "sub",
  "iss",
  "cloud_instance_name",
  "cloud_instance_host_name",
  "cloud_graph_host_name",
  "msgraph_host",
  "aud",
  "exp",
  "iat",
  "auth_time",
  "acr",
  "nonce",
  "preferred_username",
  "name",
  "tid",
  "ver",
  "at_hash",
  "c_hash",
  "email",
];
