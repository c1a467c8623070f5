import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from "node:crypto";
import { SettingsError } from "../errors.js";
import type { Secret } from "../settings/secret.js";

const SETTING = "PROBE_STATE_KEY";
/** At least 32 characters: `openssl rand -base64 32` gives 44; a Key Vault secret of any longer random text works too. */
const MIN_LENGTH = 32;

/**
 * The key that seals the tokens the probe keeps in its state (PROBE_STATE_KEY, a Key Vault
 * reference in Azure). A live bearer token is never stored in clear: without this key
 * the expired-token harvest stays in memory only. AES-256-GCM with a key derived by HKDF-SHA256,
 * the token's scope as associated data (a sealed token moved to another scope does not open).
 */
export class StateKey {
  readonly #key: Buffer;
  /** Names the key without revealing it, so tokens sealed under another key are recognised and skipped. */
  readonly id: string;

  private constructor(key: Buffer) {
    this.#key = key;
    this.id = createHash("sha256").update(key).digest("base64url").slice(0, 12);
  }

  static fromSetting(value: Secret): StateKey {
    const text = value.reveal().trim();
    if (text.length < MIN_LENGTH) {
      throw new SettingsError([
        {
          setting: SETTING,
          problem: `must be at least ${MIN_LENGTH} characters of random text (for instance the output of openssl rand -base64 32)`,
        },
      ]);
    }
    return new StateKey(Buffer.from(hkdfSync("sha256", text, "apim-smoke-probe", "probe state tokens v1", 32)));
  }

  seal(plaintext: string, context: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.#key, iv);
    cipher.setAAD(Buffer.from(context, "utf8"));
    const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), body]).toString("base64url");
  }

  /** The plaintext, or undefined when the box was sealed under another key or context, or altered. */
  open(sealed: string, context: string): string | undefined {
    try {
      const bytes = Buffer.from(sealed, "base64url");
      const decipher = createDecipheriv("aes-256-gcm", this.#key, bytes.subarray(0, 12));
      decipher.setAAD(Buffer.from(context, "utf8"));
      decipher.setAuthTag(bytes.subarray(12, 28));
      return Buffer.concat([decipher.update(bytes.subarray(28)), decipher.final()]).toString("utf8");
    } catch {
      return undefined;
    }
  }
}
