import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { formatBytes } from "~/app/_components/format";
import { signAccessToken, verifyAccessToken } from "~/server/auth/access-token";
import { sessionCookie } from "~/server/auth/actor";
import { env } from "~/env";

const subject = { userId: "cuser0000000000000000001", username: "alice", familyId: "cfam00000000000000000001" };
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");

describe("access tokens", () => {
  it("round-trips the claims and expires after ACCESS_TOKEN_TTL_SECONDS", () => {
    const now = new Date("2026-11-23T12:00:00Z");
    const { token, expiresAt } = signAccessToken(subject, { now });
    expect(expiresAt.getTime() - now.getTime()).toBe(env.ACCESS_TOKEN_TTL_SECONDS * 1000);
    const claims = verifyAccessToken(token, now);
    expect(claims).toEqual({
      sub: subject.userId,
      name: subject.username,
      fam: subject.familyId,
      iat: now.getTime() / 1000,
      exp: expiresAt.getTime() / 1000,
    });
    const [header] = token.split(".");
    expect(JSON.parse(Buffer.from(header!, "base64url").toString())).toEqual({ alg: "HS256", typ: "JWT" });

    expect(verifyAccessToken(token, new Date(expiresAt.getTime() - 1000))).not.toBeNull();
    expect(verifyAccessToken(token, expiresAt)).toBeNull();
  });

  it("tolerates 30 s of clock skew for iat, not more", () => {
    const now = new Date("2026-11-23T12:00:00Z");
    const issuedAhead = (seconds: number) => signAccessToken(subject, { now: new Date(now.getTime() + seconds * 1000) }).token;
    expect(verifyAccessToken(issuedAhead(30), now)).not.toBeNull();
    expect(verifyAccessToken(issuedAhead(31), now)).toBeNull();
  });

  it("rejects another secret, edited claims or header, and junk", () => {
    const { token } = signAccessToken(subject);
    const [h, p, s] = token.split(".") as [string, string, string];
    const claims = JSON.parse(Buffer.from(p, "base64url").toString()) as Record<string, unknown>;

    expect(verifyAccessToken(signAccessToken(subject, { secret: randomBytes(32).toString("hex") }).token)).toBeNull();
    expect(verifyAccessToken(`${h}.${b64({ ...claims, exp: (claims.exp as number) + 86_400 })}.${s}`)).toBeNull();
    expect(verifyAccessToken(`${b64({ alg: "HS512", typ: "JWT" })}.${p}.${s}`)).toBeNull();
    expect(verifyAccessToken(`${b64({ alg: "none", typ: "JWT" })}.${p}.`)).toBeNull();
    expect(verifyAccessToken(`${h}.${p}`)).toBeNull();
    expect(verifyAccessToken(`${h}.${p}.${s}.${s}`)).toBeNull();
    expect(verifyAccessToken(`${h}.${p}.${s.slice(0, -2)}`)).toBeNull();
    expect(verifyAccessToken(`${h}.${p}.${s}=`)).toBeNull();
    // the signature's last character also holds 2 bits base64url decoding ignores: altered is altered
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    expect(verifyAccessToken(`${h}.${p}.${s.slice(0, -1)}${alphabet[alphabet.indexOf(s.at(-1)!) ^ 1]}`)).toBeNull();
    expect(verifyAccessToken("x".repeat(5000))).toBeNull();
    expect(verifyAccessToken("")).toBeNull();
    // the untouched token is fine
    expect(verifyAccessToken(token)).not.toBeNull();
  });
});

describe("session cookie parsing", () => {
  it("finds the next-auth session token, secure name first, and joins chunks in order", () => {
    expect(sessionCookie(null)).toBeNull();
    expect(sessionCookie("a=1; b=2")).toBeNull();
    expect(sessionCookie("a=1; next-auth.session-token=abc; b=2")).toBe("abc");
    expect(sessionCookie("next-auth.session-token=plain; __Secure-next-auth.session-token=secure")).toBe("secure");
    expect(sessionCookie("next-auth.session-token.1=DEF; next-auth.session-token.0=abc")).toBe("abcDEF");
    // a chunk sequence stops at the first gap
    expect(sessionCookie("next-auth.session-token.0=abc; next-auth.session-token.2=zzz")).toBe("abc");
    expect(sessionCookie("next-auth.session-token=%E0%A4%A")).toBeNull();
    expect(sessionCookie("next-auth.session-token=a%2Bb")).toBe("a+b");
  });
});

describe("formatBytes", () => {
  it("uses binary multiples with at most two decimals", () => {
    expect(formatBytes(0)).toBe("0 B");
    expect(formatBytes(1023)).toBe("1023 B");
    expect(formatBytes(1536)).toBe("1.5 KB");
    expect(formatBytes(10 * 1024 ** 3)).toBe("10 GB");
    expect(formatBytes(1.25 * 1024 ** 2)).toBe("1.25 MB");
    expect(formatBytes(123.4 * 1024 ** 2)).toBe("123 MB");
    expect(formatBytes(-1)).toBe("—");
  });
});
