import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from "node:crypto";
import { authSecret } from "~/env";
import { macMatches } from "./mac";

// Keys derived from AUTH_SECRET, one per purpose, for account secrets at rest: codes that are
// short or guessable once their hash is known (6-digit email codes, recovery codes) are stored as
// HMACs, and TOTP secrets are sealed with AES-256-GCM, so a copy of the database or of Redis alone
// is not enough to use them.

export type KeyPurpose = "email code" | "recovery code" | "totp secret";

const cache = new Map<string, Buffer>();

function derivedKey(purpose: KeyPurpose): Buffer {
  const secret = authSecret();
  const id = `${purpose}\n${secret}`;
  let key = cache.get(id);
  if (!key) {
    key = Buffer.from(hkdfSync("sha256", secret, "filestore", `filestore ${purpose} v1`, 32));
    cache.set(id, key);
  }
  return key;
}

/** HMAC-SHA256 of `value` under the purpose's key, as hex. */
export function keyedHash(purpose: KeyPurpose, value: string): string {
  return createHmac("sha256", derivedKey(purpose)).update(value, "utf8").digest("hex");
}

/** Whether `value` hashes to `expectedHex` (constant time). */
export function keyedHashMatches(purpose: KeyPurpose, value: string, expectedHex: string): boolean {
  return macMatches(keyedHash(purpose, value), expectedHex);
}

const SEALED_VERSION = "v1";

/** AES-256-GCM: `v1.<iv>.<ciphertext>.<tag>` (base64url parts). */
export function seal(purpose: KeyPurpose, plaintext: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", derivedKey(purpose), iv);
  const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
  return [SEALED_VERSION, iv, body, cipher.getAuthTag()].map((p) => (typeof p === "string" ? p : p.toString("base64url"))).join(".");
}

/** The plaintext of a sealed value; null when it was not sealed under this key (AUTH_SECRET changed). */
export function unseal(purpose: KeyPurpose, sealed: string): string | null {
  const [version, iv, body, tag] = sealed.split(".");
  if (version !== SEALED_VERSION || !iv || body === undefined || !tag) return null;
  try {
    const decipher = createDecipheriv("aes-256-gcm", derivedKey(purpose), Buffer.from(iv, "base64url"));
    decipher.setAuthTag(Buffer.from(tag, "base64url"));
    return Buffer.concat([decipher.update(Buffer.from(body, "base64url")), decipher.final()]).toString("utf8");
  } catch {
    return null;
  }
}
