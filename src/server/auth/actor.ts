import { decode } from "next-auth/jwt";
import { authSecret } from "~/env";
import { verifyAccessToken } from "./access-token";
import { activeSession } from "./revocation";

/** Who is making a request: resolved once per request from a bearer token or the session cookie. */
export type Actor = {
  userId: string;
  username: string;
  /** The sign-in (refresh-token family) the credentials belong to, when they came from one. */
  familyId?: string;
};

/** The actor and the sign-in (refresh-token family) a request's credentials belong to. */
export interface RequestSession {
  actor: Actor;
  familyId: string;
}

export const SESSION_COOKIE_NAMES = ["__Secure-next-auth.session-token", "next-auth.session-token"] as const;

/**
 * The one actor of a request: `Authorization: Bearer <accessToken>` first, else the next-auth
 * session cookie. Forged, expired, malformed or revoked credentials give null (the caller answers
 * 401); a request that sends a bearer token is judged by that token alone.
 */
export async function resolveActor(headers: Headers): Promise<Actor | null> {
  return (await resolveSession(headers))?.actor ?? null;
}

/** resolveActor, with the sign-in the credentials belong to (password change keeps that one). */
export async function resolveSession(headers: Headers): Promise<RequestSession | null> {
  const authorization = headers.get("authorization");
  if (authorization !== null) {
    const match = /^Bearer[ ]+(\S+)\s*$/i.exec(authorization);
    return match ? sessionFromAccessToken(match[1]!) : null;
  }
  const cookie = sessionCookie(headers.get("cookie"));
  return cookie ? sessionFromCookie(cookie) : null;
}

export async function actorFromAccessToken(token: string): Promise<Actor | null> {
  return (await sessionFromAccessToken(token))?.actor ?? null;
}

async function sessionFromAccessToken(token: string): Promise<RequestSession | null> {
  const claims = verifyAccessToken(token);
  if (!claims) return null;
  // Revoked, disabled or deleted since the token was signed: the database says so at once.
  const actor = await activeSession(claims.fam, claims.sub);
  return actor ? { actor: { ...actor, familyId: claims.fam }, familyId: claims.fam } : null;
}

/** Claims filestore puts in the next-auth JWT (see next-auth.ts). */
export interface SessionClaims {
  sub: string;
  username: string;
  familyId: string;
}

export function sessionClaims(token: Record<string, unknown> | null): SessionClaims | null {
  if (!token) return null;
  const { sub, username, familyId } = token;
  if (typeof sub !== "string" || typeof username !== "string" || typeof familyId !== "string") return null;
  if (!sub || !username || !familyId) return null;
  return { sub, username, familyId };
}

async function sessionFromCookie(value: string): Promise<RequestSession | null> {
  let token: Record<string, unknown> | null;
  try {
    // jose checks the A256GCM tag and `exp`: a forged, tampered or expired cookie throws.
    token = await decode({ token: value, secret: authSecret() });
  } catch {
    return null;
  }
  const claims = sessionClaims(token);
  if (!claims) return null;
  const actor = await activeSession(claims.familyId, claims.sub);
  return actor ? { actor: { ...actor, familyId: claims.familyId }, familyId: claims.familyId } : null;
}

/**
 * The session token from a Cookie header. next-auth splits large tokens into `<name>.0`, `<name>.1`,
 * ...; the secure-prefixed name wins when both are present.
 */
export function sessionCookie(header: string | null): string | null {
  if (!header) return null;
  const cookies = new Map<string, string>();
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim();
    let value = part.slice(eq + 1).trim();
    try {
      value = decodeURIComponent(value);
    } catch {
      continue;
    }
    if (!cookies.has(name)) cookies.set(name, value);
  }
  for (const name of SESSION_COOKIE_NAMES) {
    const whole = cookies.get(name);
    if (whole) return whole;
    const chunks: string[] = [];
    for (let i = 0; cookies.has(`${name}.${i}`); i++) chunks.push(cookies.get(`${name}.${i}`)!);
    if (chunks.length > 0) return chunks.join("");
  }
  return null;
}
