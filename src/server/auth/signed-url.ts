import { createHmac, hkdfSync } from "node:crypto";
import { macMatches } from "~/server/auth/mac";
import { authSecret, env } from "~/env";

// Signed download URLs (file.downloadUrl): the credentials are in the query string,
//   /api/files/<id>/content?expires=<unix seconds>&signature=<base64url HMAC-SHA256>
// The MAC covers the entry id, the SHA-256 of its content and the expiry, under a key derived from
// AUTH_SECRET for this one purpose (an access-token or cookie signature can never pass as one).
// Binding the content digest means a link keeps working through renames and moves, but stops if
// the id ever pointed at other bytes.
//
// Answers (documented in API terms by the download route):
// - expired (expires in the past)          → 403 FORBIDDEN "This download link has expired"
// - wrong signature, missing/garbled params → 403 FORBIDDEN "This download link is not valid"
// Both are 403 like S3's presigned URLs; an expired link is not fixed by signing in (401), only by
// asking for a new one. The expiry is checked first, from the URL alone.

export const EXPIRES_PARAM = "expires";
export const SIGNATURE_PARAM = "signature";

/** Longest lifetime a link may ask for: 7 days, like S3's presigned URLs. */
export const MAX_EXPIRES_IN_SECONDS = 7 * 24 * 3600;

let cachedKey: { secret: string; key: Buffer } | undefined;

function signingKey(): Buffer {
  const secret = authSecret();
  if (cachedKey?.secret !== secret) {
    cachedKey = { secret, key: Buffer.from(hkdfSync("sha256", secret, "filestore", "filestore download url v1", 32)) };
  }
  return cachedKey.key;
}

export interface SignedTarget {
  entryId: string;
  sha256: string;
}

function mac(target: SignedTarget, expires: number): Buffer {
  return createHmac("sha256", signingKey()).update(`${target.entryId}\n${target.sha256}\n${expires}`).digest();
}

/** The path and query of a signed download URL for `target`, valid until `expires` (unix seconds). */
export function signedContentPath(target: SignedTarget, expires: number): string {
  const signature = mac(target, expires).toString("base64url");
  const query = new URLSearchParams({ [EXPIRES_PARAM]: String(expires), [SIGNATURE_PARAM]: signature });
  return `/api/files/${encodeURIComponent(target.entryId)}/content?${query.toString()}`;
}

/** The absolute signed URL (NEXTAUTH_URL is the public origin). */
export function signedContentUrl(target: SignedTarget, expiresInSeconds: number, now = new Date()): { url: string; expiresAt: Date } {
  const expires = Math.floor(now.getTime() / 1000) + expiresInSeconds;
  const url = new URL(signedContentPath(target, expires), env.NEXTAUTH_URL).toString();
  return { url, expiresAt: new Date(expires * 1000) };
}

/** True when the query string carries signed-URL credentials (the route then ignores cookies/bearer). */
export function hasSignature(query: URLSearchParams): boolean {
  return query.has(SIGNATURE_PARAM) || query.has(EXPIRES_PARAM);
}

/** The expiry of a signed URL, before anything is looked up: "expired", "invalid" or the unix seconds. */
export function readExpiry(query: URLSearchParams, now = new Date()): number | "expired" | "invalid" {
  const raw = query.get(EXPIRES_PARAM);
  if (raw === null || !/^[0-9]{1,12}$/.test(raw)) return "invalid";
  const expires = Number(raw);
  if (expires <= Math.floor(now.getTime() / 1000)) return "expired";
  return expires;
}

/** Whether the signature in `query` is the one for `target` and `expires`, in constant time. */
export function signatureMatches(query: URLSearchParams, target: SignedTarget, expires: number): boolean {
  const given = query.get(SIGNATURE_PARAM);
  if (given === null || !/^[A-Za-z0-9_-]{43}$/.test(given)) return false;
  return macMatches(given, mac(target, expires).toString("base64url"));
}
