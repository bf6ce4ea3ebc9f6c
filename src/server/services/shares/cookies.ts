import { createHmac, hkdfSync } from "node:crypto";
import { macMatches } from "~/server/auth/mac";
import { authSecret, env } from "~/env";

// Two signed cookies make shares work in a browser without an account:
// - the unlock cookie `fs_share_<shareId>`, set by share.open after a correct password: HMAC of the
//   share id, its password hash and the expiry (path /, 1 hour), so page browsing and downloads do
//   not ask again; a new password on the share would invalidate it;
// - the download grant `fs_dl_<shareId>_<fileId>`, set by a download that was counted against a
//   download limit (path /api/s/<token>/, 24 hours): it lets the same browser resume that file
//   with Range requests that are not counted again (see share-download.ts).
// Both HttpOnly and SameSite=Lax, Secure when the drive is served over https. Keys are derived from
// AUTH_SECRET per purpose, so neither can stand in for the other or for any other signature.

export const UNLOCK_TTL_SECONDS = 3600;
export const GRANT_TTL_SECONDS = 24 * 3600;

const keys = new Map<string, { secret: string; key: Buffer }>();

function keyFor(purpose: string): Buffer {
  const secret = authSecret();
  const cached = keys.get(purpose);
  if (cached?.secret === secret) return cached.key;
  const key = Buffer.from(hkdfSync("sha256", secret, "filestore", `filestore ${purpose} v1`, 32));
  keys.set(purpose, { secret, key });
  return key;
}

function mac(purpose: string, parts: string[], expires: number): string {
  return createHmac("sha256", keyFor(purpose)).update(`${parts.join("\n")}\n${expires}`).digest("base64url");
}

function verify(purpose: string, parts: string[], value: string | undefined, now: Date): boolean {
  if (!value) return false;
  const m = /^([0-9]{1,12})\.([A-Za-z0-9_-]{43})$/.exec(value);
  if (!m) return false;
  const expires = Number(m[1]);
  if (expires <= Math.floor(now.getTime() / 1000)) return false;
  return macMatches(m[2]!, mac(purpose, parts, expires));
}

/** The cookies of a Cookie header (first occurrence of a name wins). */
export function parseCookies(header: string | null): Map<string, string> {
  const cookies = new Map<string, string>();
  if (!header) return cookies;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim();
    if (!cookies.has(name)) cookies.set(name, part.slice(eq + 1).trim());
  }
  return cookies;
}

function setCookie(name: string, value: string, path: string, maxAge: number): string {
  const secure = new URL(env.NEXTAUTH_URL).protocol === "https:" ? "; Secure" : "";
  return `${name}=${value}; Path=${path}; Max-Age=${maxAge}; HttpOnly; SameSite=Lax${secure}`;
}

const unlockName = (shareId: string) => `fs_share_${shareId}`;
const grantName = (shareId: string, fileId: string) => `fs_dl_${shareId}_${fileId}`;

export function unlockCookie(share: { id: string; passwordHash: string }, now = new Date()): string {
  const expires = Math.floor(now.getTime() / 1000) + UNLOCK_TTL_SECONDS;
  return setCookie(unlockName(share.id), `${expires}.${mac("share unlock", [share.id, share.passwordHash], expires)}`, "/", UNLOCK_TTL_SECONDS);
}

export function hasUnlockCookie(share: { id: string; passwordHash: string }, cookieHeader: string | null, now = new Date()): boolean {
  return verify("share unlock", [share.id, share.passwordHash], parseCookies(cookieHeader).get(unlockName(share.id)), now);
}

export function grantCookie(share: { id: string; token: string }, fileId: string, now = new Date()): string {
  const expires = Math.floor(now.getTime() / 1000) + GRANT_TTL_SECONDS;
  const value = `${expires}.${mac("share download grant", [share.id, fileId], expires)}`;
  return setCookie(grantName(share.id, fileId), value, `/api/s/${share.token}/`, GRANT_TTL_SECONDS);
}

export function hasGrantCookie(share: { id: string }, fileId: string, cookieHeader: string | null, now = new Date()): boolean {
  return verify("share download grant", [share.id, fileId], parseCookies(cookieHeader).get(grantName(share.id, fileId)), now);
}
