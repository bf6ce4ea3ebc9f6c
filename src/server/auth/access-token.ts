import { createHmac, hkdfSync } from "node:crypto";
import { macMatches } from "./mac";
import { authSecret, env } from "~/env";

// Access tokens: compact HS256 JWTs, short-lived (ACCESS_TOKEN_TTL_SECONDS). The key is derived from
// AUTH_SECRET for this one purpose, so a signature made for something else (download URLs, ...)
// can never pass as an access token.

export interface AccessTokenClaims {
  /** user id */
  sub: string;
  /** username */
  name: string;
  /** refresh-token family (the sign-in); revoking the family kills its access tokens */
  fam: string;
  iat: number;
  exp: number;
}

const HEADER = { alg: "HS256", typ: "JWT" } as const;
/** Tolerated clock difference for `iat` in the future, in seconds. */
const CLOCK_SKEW_SECONDS = 30;

let cachedKey: { secret: string; key: Buffer } | undefined;

function signingKey(secret = authSecret()): Buffer {
  if (cachedKey?.secret === secret) return cachedKey.key;
  const key = Buffer.from(hkdfSync("sha256", secret, "filestore", "filestore access token v1", 32));
  if (secret === authSecret()) cachedKey = { secret, key };
  return key;
}

const b64url = (data: string | Buffer) => Buffer.from(data).toString("base64url");

function sign(input: string, secret?: string): string {
  return createHmac("sha256", signingKey(secret)).update(input).digest("base64url");
}

/**
 * Signs an access token. `secret` and `now` exist for tests (forged and expired tokens); the app
 * always uses AUTH_SECRET and the clock.
 */
export function signAccessToken(
  subject: { userId: string; username: string; familyId: string },
  opts: { now?: Date; ttlSeconds?: number; secret?: string } = {},
): { token: string; expiresAt: Date } {
  const iat = Math.floor((opts.now ?? new Date()).getTime() / 1000);
  const exp = iat + (opts.ttlSeconds ?? env.ACCESS_TOKEN_TTL_SECONDS);
  const claims: AccessTokenClaims = { sub: subject.userId, name: subject.username, fam: subject.familyId, iat, exp };
  const body = `${b64url(JSON.stringify(HEADER))}.${b64url(JSON.stringify(claims))}`;
  return { token: `${body}.${sign(body, opts.secret)}`, expiresAt: new Date(exp * 1000) };
}

function parseJson(segment: string): unknown {
  try {
    return JSON.parse(Buffer.from(segment, "base64url").toString("utf8"));
  } catch {
    return null;
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const isId = (v: unknown): v is string => typeof v === "string" && v.length > 0 && v.length <= 64;

/** The claims of a genuine, unexpired access token; null for anything else. Never throws. */
export function verifyAccessToken(token: string, now: Date = new Date()): AccessTokenClaims | null {
  if (token.length > 4096) return null;
  const parts = token.split(".");
  if (parts.length !== 3) return null;
  const [h, p, s] = parts as [string, string, string];
  if (!/^[A-Za-z0-9_-]+$/.test(s)) return null;

  if (!macMatches(s, sign(`${h}.${p}`))) return null;

  const header = parseJson(h);
  if (!isObject(header) || header.alg !== HEADER.alg || header.typ !== HEADER.typ) return null;
  const claims = parseJson(p);
  if (!isObject(claims)) return null;
  const { sub, name, fam, iat, exp } = claims;
  if (!isId(sub) || !isId(name) || !isId(fam)) return null;
  if (!Number.isInteger(iat) || !Number.isInteger(exp)) return null;
  const nowSeconds = Math.floor(now.getTime() / 1000);
  if ((iat as number) > nowSeconds + CLOCK_SKEW_SECONDS) return null;
  if ((exp as number) <= nowSeconds || (exp as number) <= (iat as number)) return null;
  return { sub, name, fam, iat: iat as number, exp: exp as number };
}
