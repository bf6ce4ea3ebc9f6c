import { createHmac, hkdfSync } from "node:crypto";
import { authSecret, env } from "~/env";
import type { Actor } from "./actor";
import { macMatches } from "./mac";
import { activeSession } from "./revocation";

// Upload grants: a credential scoped to ONE upload session, handed out by upload.init, so an upload
// outlives the sign-in that started it (a browser session cookie that expires or is cleared while a
// big file is still going up). It is presented as `X-Upload-Token` and only ever stands in for the
// caller on the procedures and routes of that one upload (chunk PUTs, status, prove, complete,
// abort); it reads nothing and lists nothing. It lives as long as an idle session does, and it is
// bound to the sign-in: signing out (or any revocation of that sign-in) stops it at once.
//
//   <base64url(JSON { u: uploadId, sub, name, fam, exp })>.<HMAC-SHA256, key derived for this purpose only>

export const UPLOAD_TOKEN_HEADER = "x-upload-token";

interface GrantClaims {
  u: string;
  sub: string;
  name: string;
  fam: string;
  exp: number;
}

let cachedKey: { secret: string; key: Buffer } | undefined;

function signingKey(): Buffer {
  const secret = authSecret();
  if (cachedKey?.secret === secret) return cachedKey.key;
  const key = Buffer.from(hkdfSync("sha256", secret, "filestore", "filestore upload grant v1", 32));
  cachedKey = { secret, key };
  return key;
}

const mac = (body: string) => createHmac("sha256", signingKey()).update(body).digest("base64url");

/** A grant for `uploadId`, or null when the actor's credentials name no sign-in to bind it to. */
export function issueUploadGrant(actor: Actor, uploadId: string, now = new Date()): { token: string; expiresAt: Date } | null {
  if (!actor.familyId) return null;
  const exp = Math.floor(now.getTime() / 1000 + env.UPLOAD_SESSION_TTL_HOURS * 3600);
  const claims: GrantClaims = { u: uploadId, sub: actor.userId, name: actor.username, fam: actor.familyId, exp };
  const body = Buffer.from(JSON.stringify(claims)).toString("base64url");
  return { token: `${body}.${mac(body)}`, expiresAt: new Date(exp * 1000) };
}

/** The actor a genuine, unexpired, unrevoked grant for exactly this upload stands for; else null. */
export async function actorFromUploadGrant(token: string | null, uploadId: string, now = new Date()): Promise<Actor | null> {
  if (!token || token.length > 2048) return null;
  const dot = token.indexOf(".");
  if (dot <= 0) return null;
  const body = token.slice(0, dot);
  if (!macMatches(token.slice(dot + 1), mac(body))) return null;
  let claims: Partial<GrantClaims>;
  try {
    claims = JSON.parse(Buffer.from(body, "base64url").toString("utf8")) as Partial<GrantClaims>;
  } catch {
    return null;
  }
  const { u, sub, name, fam, exp } = claims;
  if (u !== uploadId || typeof sub !== "string" || typeof name !== "string" || typeof fam !== "string" || typeof exp !== "number") return null;
  if (exp <= now.getTime() / 1000) return null;
  // Revoked, disabled or deleted since the grant was signed: the database says so at once.
  const actor = await activeSession(fam, sub);
  return actor ? { ...actor, familyId: fam } : null;
}
