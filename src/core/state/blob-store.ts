import type { TokenCredential } from "@azure/identity";
import type { ContainerClient } from "@azure/storage-blob";
import { SettingsError, StateStoreError } from "../errors.js";
import { setAsideName, type StateStore, type StoredDocument } from "./store.js";

/** The container the probe keeps its state in, beside the host's own `azure-webjobs-*` containers. */
export const STATE_CONTAINER = "apim-smoke-probe-state";

/**
 * Where the Function app's storage is, as the Functions host reads it (docs/REFERENCE.md §5, "identity-based
 * connections"): a connection string in `AzureWebJobsStorage` (local development, Azurite), or
 * `AzureWebJobsStorage__blobServiceUri` / `__accountName` with `__credential=managedidentity` and
 * `__clientId` (what infra/main.json sets on Flex Consumption).
 */
export type StorageConnection =
  | { kind: "connection-string"; connectionString: string; account: string }
  | { kind: "identity"; blobServiceUri: string; account: string; managedIdentityClientId?: string };

export type StorageEnv = Readonly<Record<string, string | undefined>>;

/** The storage connection from the app's settings, undefined when none is configured. */
export function storageConnectionFrom(env: StorageEnv): StorageConnection | undefined {
  const connectionString = env["AzureWebJobsStorage"]?.trim();
  if (connectionString)
    return { kind: "connection-string", connectionString, account: accountOfConnectionString(connectionString) };
  const uri = env["AzureWebJobsStorage__blobServiceUri"]?.trim();
  const accountName = env["AzureWebJobsStorage__accountName"]?.trim();
  if (!uri && !accountName) return undefined;
  const blobServiceUri = uri || `https://${accountName}.blob.core.windows.net`;
  let url: URL;
  try {
    url = new URL(blobServiceUri);
  } catch {
    throw new SettingsError([{ setting: "AzureWebJobsStorage__blobServiceUri", problem: "must be an https:// URL" }]);
  }
  if (url.protocol !== "https:") {
    // A bearer token for storage goes to https only, like every token this app sends.
    throw new SettingsError([{ setting: "AzureWebJobsStorage__blobServiceUri", problem: "must be an https:// URL" }]);
  }
  const credential = env["AzureWebJobsStorage__credential"]?.trim().toLowerCase();
  const clientId = env["AzureWebJobsStorage__clientId"]?.trim();
  return {
    kind: "identity",
    blobServiceUri: url.origin,
    account: accountName || url.hostname.split(".")[0] || url.hostname,
    ...(credential === "managedidentity" && clientId ? { managedIdentityClientId: clientId } : {}),
  };
}

/**
 * The Function app's state: one block blob per document in STATE_CONTAINER, through Azure's SDK
 * (`@azure/storage-blob`), with ETag conditions (If-Match, or If-None-Match: * for a new one) so two
 * instances never overwrite each other. The SDK and the credential load on first use.
 */
export function createBlobStateStore(
  connection: StorageConnection,
  options: { credential?: TokenCredential } = {},
): StateStore {
  const description = `storage account ${connection.account}, container ${STATE_CONTAINER}`;
  let container: Promise<ContainerClient> | undefined;
  let created = false;

  const open = (): Promise<ContainerClient> => {
    container ??= openContainer(connection, options.credential).catch((error: unknown) => {
      container = undefined;
      throw new StateStoreError(description, `cannot open the container (${describe(error)})`, { cause: error });
    });
    return container;
  };

  return {
    description,
    async read(name): Promise<StoredDocument | undefined> {
      const blob = (await open()).getBlockBlobClient(`${name}.json`);
      try {
        // One GET: the text and the ETag of that very text. (Length, text and ETag in three requests
        // let another run's write land in between: a stale ETag that drops its update, or a text cut
        // at the old length.) The SDK resumes a broken stream with If-Match on this ETag.
        const response = await blob.download(0);
        const body = await streamToBuffer(response.readableStreamBody);
        if (response.etag === undefined)
          throw new StateStoreError(description, `cannot read ${name}.json (no ETag in the answer)`);
        if (response.contentLength !== undefined && body.length !== response.contentLength) {
          throw new StateStoreError(
            description,
            `cannot read ${name}.json (got ${body.length} of ${response.contentLength} bytes)`,
          );
        }
        return { text: body.toString("utf8"), version: response.etag };
      } catch (error) {
        if (error instanceof StateStoreError) throw error;
        if (statusOf(error) === 404) return undefined;
        throw new StateStoreError(description, `cannot read ${name}.json (${describe(error)})`, { cause: error });
      }
    },
    async setAside(name, text, at) {
      const client = await open();
      for (let n = 0; ; n++) {
        const copy = setAsideName(name, at, n === 0 ? "" : `-${n}`);
        try {
          await client.getBlockBlobClient(copy).upload(text, Buffer.byteLength(text), {
            conditions: { ifNoneMatch: "*" },
            blobHTTPHeaders: { blobContentType: "application/json" },
          });
          return copy;
        } catch (error) {
          const status = statusOf(error);
          if ((status === 409 || status === 412) && n < 100) continue;
          throw new StateStoreError(
            description,
            `cannot keep a copy of the damaged ${name}.json (${describe(error)})`,
            { cause: error },
          );
        }
      }
    },
    async write(name, text, expected) {
      const client = await open();
      if (!created) {
        try {
          await client.createIfNotExists();
          created = true;
        } catch (error) {
          throw new StateStoreError(description, `cannot create the container (${describe(error)})`, { cause: error });
        }
      }
      const blob = client.getBlockBlobClient(`${name}.json`);
      try {
        await blob.upload(text, Buffer.byteLength(text), {
          conditions: expected === undefined ? { ifNoneMatch: "*" } : { ifMatch: expected },
          blobHTTPHeaders: { blobContentType: "application/json" },
        });
        return true;
      } catch (error) {
        const status = statusOf(error);
        if (status === 412 || status === 409) return false;
        throw new StateStoreError(description, `cannot write ${name}.json (${describe(error)})`, { cause: error });
      }
    },
  };
}

/**
 * A storage outage must not hold a run (or its telemetry) for the SDK's default minutes of retries:
 * one retry, 10 s a try. What could not be stored is reported, and the next run tries again.
 */
const CLIENT_OPTIONS = {
  retryOptions: { maxTries: 2, retryDelayInMs: 200, maxRetryDelayInMs: 1_000, tryTimeoutInMs: 10_000 },
};

async function openContainer(
  connection: StorageConnection,
  credential: TokenCredential | undefined,
): Promise<ContainerClient> {
  const { BlobServiceClient } = await import("@azure/storage-blob");
  if (connection.kind === "connection-string") {
    return BlobServiceClient.fromConnectionString(connection.connectionString, CLIENT_OPTIONS).getContainerClient(
      STATE_CONTAINER,
    );
  }
  const tokenCredential = credential ?? (await identityCredential(connection.managedIdentityClientId));
  return new BlobServiceClient(connection.blobServiceUri, tokenCredential, CLIENT_OPTIONS).getContainerClient(
    STATE_CONTAINER,
  );
}

/** The app's managed identity (the one infra/main.json gives Storage Blob Data Owner), else the developer's sign-in. */
async function identityCredential(clientId: string | undefined): Promise<TokenCredential> {
  const identity = await import("@azure/identity");
  return clientId ? new identity.ManagedIdentityCredential({ clientId }) : new identity.DefaultAzureCredential();
}

async function streamToBuffer(stream: NodeJS.ReadableStream | undefined): Promise<Buffer> {
  if (stream === undefined) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer | string>)
    chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks);
}

function accountOfConnectionString(connectionString: string): string {
  if (/^\s*UseDevelopmentStorage=true\s*;?\s*$/i.test(connectionString)) return "devstoreaccount1 (Azurite)";
  const match = /(?:^|;)\s*AccountName=([^;]+)/i.exec(connectionString);
  return match?.[1]?.trim() ?? "from AzureWebJobsStorage";
}

function statusOf(error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === "number" ? status : undefined;
}

/** The storage service's status and error code, or the transport's code: never a URL with a SAS or a key. */
function describe(error: unknown): string {
  const status = statusOf(error);
  const code = (error as { code?: unknown } | null)?.code;
  const parts = [status === undefined ? undefined : String(status), typeof code === "string" ? code : undefined].filter(
    Boolean,
  );
  return parts.length > 0 ? parts.join(" ") : error instanceof Error ? error.name : "unknown error";
}
