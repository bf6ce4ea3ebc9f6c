import { createHash, randomBytes, randomInt } from "node:crypto";
import { encode } from "next-auth/jwt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { POST as trpcPost } from "~/app/api/trpc/[trpc]/route";
import { authSecret, env } from "~/env";
import { signAccessToken } from "~/server/auth/access-token";
import { resolveActor } from "~/server/auth/actor";
import { db } from "~/server/db/client";
import { trustedAddressHeaders } from "~/server/http/client-address";
import { createCaller } from "~/server/trpc/root";
import { createTrpcContext } from "~/server/trpc/trpc";
import {
  anonymousCaller,
  callerFor,
  createTestUser,
  deleteCreatedTestUsers,
  deleteTestUser,
  uniqueUsername,
} from "../helpers/users";

// Accounts over tRPC against the real MariaDB and Redis of the run. Every test makes its own users
// (unique names) and its own client addresses, so throttles never leak between tests.

const signedUp = new Set<string>();
// The first account of a drive is its admin: make sure that is not one these tests look at.
beforeAll(async () => {
  await createTestUser();
});
afterAll(async () => {
  for (const username of signedUp) {
    const user = await db.user.findUnique({ where: { username }, select: { id: true } });
    if (user) await deleteTestUser(user.id);
  }
  await deleteCreatedTestUsers();
});

/** A fresh, never-used client address. */
const newAddress = () => `10.${randomInt(256)}.${randomInt(256)}.${randomInt(1, 255)}`;
const fromAddress = (address: string) => trustedAddressHeaders(address);
const bearer = (accessToken: string) => ({ authorization: `Bearer ${accessToken}` });
const password = () => `pw-${randomBytes(9).toString("base64url")}`;

async function signupVia(username: string, pw: string, address = newAddress()) {
  const caller = await anonymousCaller(fromAddress(address));
  const result = await caller.auth.signup({ username, password: pw });
  signedUp.add(username);
  return result;
}

async function me(headers: Record<string, string>) {
  return (await callerFor(headers)).user.me();
}

/** Rejection with a tRPC code, e.g. `await expectCode(p, "UNAUTHORIZED")`; returns the error. */
async function expectCode(promise: Promise<unknown>, code: string) {
  const error = await promise.then(
    () => {
      throw new Error(`expected ${code}, but the call succeeded`);
    },
    (e: unknown) => e,
  );
  expect(error).toMatchObject({ code });
  return error as { code: string; cause?: unknown };
}

/** One tRPC call through the real fetch route handler (formatter, status codes, headers). */
async function httpMutation(path: string, input: unknown, headers: Record<string, string> = {}) {
  const superjson = (await import("superjson")).default;
  const response = await trpcPost(
    new Request(`http://localhost/api/trpc/${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify(superjson.serialize(input)),
    }),
  );
  const body = (await response.json()) as { error?: { json: { message: string; data: Record<string, unknown> } } };
  return { response, body };
}

describe("signup", () => {
  it("creates the account, returns a token pair, and user.me describes it", async () => {
    const username = uniqueUsername("su_");
    const before = Date.now();
    const pair = await signupVia(username, "correct horse battery");
    const after = Date.now();
    expect(pair.accessToken).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(Buffer.from(pair.refreshToken, "base64url").length).toBeGreaterThanOrEqual(32);
    expect(pair.accessExpiresAt).toBeInstanceOf(Date);
    // issued (to the second) during the call, valid for ACCESS_TOKEN_TTL_SECONDS
    const ttlMs = env.ACCESS_TOKEN_TTL_SECONDS * 1000;
    expect(pair.accessExpiresAt.getTime()).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + ttlMs);
    expect(pair.accessExpiresAt.getTime()).toBeLessThanOrEqual(after + ttlMs);

    const profile = await me(bearer(pair.accessToken));
    expect(profile).toEqual({
      id: expect.any(String),
      username,
      quotaBytes: env.DEFAULT_QUOTA_BYTES,
      usedBytes: 0,
      email: null,
      emailVerified: false,
      twoFactor: false,
      role: "user",
    });

    // Stored: an argon2id hash, and only the sha256 of the refresh token.
    const row = await db.user.findUniqueOrThrow({ where: { id: profile.id } });
    expect(row.passwordHash).toMatch(/^\$argon2id\$/);
    expect(row.passwordHash).not.toContain("correct horse");
    const tokens = await db.refreshToken.findMany({ where: { family: { userId: profile.id } } });
    expect(tokens).toHaveLength(1);
    expect(tokens[0]!.tokenHash).toBe(createHash("sha256").update(pair.refreshToken).digest("hex"));
  });

  it("refuses a taken username with CONFLICT, whatever its case", async () => {
    const username = uniqueUsername("dup_");
    await signupVia(username, password());
    await expectCode(signupVia(username, password()), "CONFLICT");
    await expectCode(signupVia(username.toUpperCase(), password()), "CONFLICT");
  });

  it("answers bad input with BAD_REQUEST and the zod issues in data.zodError", async () => {
    const { response, body } = await httpMutation("auth.signup", { username: "no spaces!", password: "short" });
    expect(response.status).toBe(400);
    expect(body.error?.json.data.code).toBe("BAD_REQUEST");
    const zodError = body.error?.json.data.zodError as { fieldErrors: Record<string, string[]> };
    expect(Object.keys(zodError.fieldErrors).sort()).toEqual(["password", "username"]);

    for (const input of [
      { username: "ab", password: "long enough" },
      { username: "x".repeat(33), password: "long enough" },
      { username: "fine_name", password: "p".repeat(129) },
      { username: "fine_name" },
    ]) {
      const caller = await anonymousCaller();
      await expectCode(caller.auth.signup(input as { username: string; password: string }), "BAD_REQUEST");
    }
  });

  it("throttles sign-ups per client address", async () => {
    const address = newAddress();
    for (let i = 0; i < env.SIGNUP_MAX_PER_ADDRESS; i++) await signupVia(uniqueUsername("sut_"), password(), address);
    const error = await expectCode(signupVia(uniqueUsername("sut_"), password(), address), "TOO_MANY_REQUESTS");
    expect((error.cause as { details?: { retryAfter?: number } }).details?.retryAfter).toBeGreaterThan(0);
    // another address is not affected
    await signupVia(uniqueUsername("sut_"), password(), newAddress());
  });
});

describe("signin", () => {
  it("signs in with the right password and not with a wrong one or an unknown user", async () => {
    const user = await createTestUser();
    const caller = await anonymousCaller(fromAddress(newAddress()));
    const pair = await caller.auth.signin({ username: user.username, password: user.password });
    expect((await me(bearer(pair.accessToken))).id).toBe(user.actor.userId);

    const wrong = await expectCode(caller.auth.signin({ username: user.username, password: "wrong password" }), "UNAUTHORIZED");
    const unknown = await expectCode(caller.auth.signin({ username: uniqueUsername("nobody_"), password: "whatever1" }), "UNAUTHORIZED");
    // the same answer: nothing says whether the account exists
    expect((wrong as unknown as Error).message).toBe((unknown as unknown as Error).message);
  });

  it("each sign-in is its own family", async () => {
    const user = await createTestUser();
    const caller = await anonymousCaller(fromAddress(newAddress()));
    await caller.auth.signin({ username: user.username, password: user.password });
    await caller.auth.signin({ username: user.username, password: user.password });
    expect(await db.refreshTokenFamily.count({ where: { userId: user.actor.userId } })).toBe(3);
  });
});

describe("refresh and reuse detection", () => {
  it("rotates: a new pair that works, and the old refresh token is retired", async () => {
    const user = await createTestUser();
    const caller = await anonymousCaller();
    const next = await caller.auth.refresh({ refreshToken: user.refreshToken });
    expect(next.refreshToken).not.toBe(user.refreshToken);
    expect((await me(bearer(next.accessToken))).id).toBe(user.actor.userId);
    const old = await db.refreshToken.findUniqueOrThrow({
      where: { tokenHash: createHash("sha256").update(user.refreshToken).digest("hex") },
    });
    expect(old.retiredAt).not.toBeNull();
    // and again, from the new token
    const third = await caller.auth.refresh({ refreshToken: next.refreshToken });
    expect((await me(bearer(third.accessToken))).username).toBe(user.username);
  });

  it("presenting a retired token revokes the family: its refresh and access tokens all stop", async () => {
    const user = await createTestUser();
    const caller = await anonymousCaller();
    // another sign-in of the same user, which must survive
    const other = await (await anonymousCaller(fromAddress(newAddress()))).auth.signin({
      username: user.username,
      password: user.password,
    });

    const next = await caller.auth.refresh({ refreshToken: user.refreshToken });
    await expectCode(caller.auth.refresh({ refreshToken: user.refreshToken }), "UNAUTHORIZED");

    await expectCode(caller.auth.refresh({ refreshToken: next.refreshToken }), "UNAUTHORIZED");
    await expectCode(me(bearer(next.accessToken)), "UNAUTHORIZED");
    await expectCode(me(user.authHeaders), "UNAUTHORIZED");
    const family = await db.refreshTokenFamily.findUniqueOrThrow({ where: { id: user.familyId } });
    expect(family.revokedAt).not.toBeNull();

    expect((await me(bearer(other.accessToken))).id).toBe(user.actor.userId);
    await caller.auth.refresh({ refreshToken: other.refreshToken });
  });

  it("unknown, expired and malformed refresh tokens are UNAUTHORIZED or BAD_REQUEST", async () => {
    const caller = await anonymousCaller();
    await expectCode(caller.auth.refresh({ refreshToken: randomBytes(32).toString("base64url") }), "UNAUTHORIZED");
    await expectCode(caller.auth.refresh({ refreshToken: "" }), "BAD_REQUEST");

    const user = await createTestUser();
    await db.refreshToken.updateMany({ where: { familyId: user.familyId }, data: { expiresAt: new Date(Date.now() - 1000) } });
    await expectCode(caller.auth.refresh({ refreshToken: user.refreshToken }), "UNAUTHORIZED");
  });

  // A refresh that overlaps the winning one loses the conditional UPDATE and is refused without
  // revoking; one that reads the token after the rotation committed is reuse and revokes the
  // family. Which of the two happens is timing, so the checks below hold for both, and the
  // invariant that matters always: one new token, never two.
  it("two parallel refreshes of one token: exactly one wins and exactly one successor exists", async () => {
    for (let round = 0; round < 5; round++) {
      const user = await createTestUser();
      const callers = await Promise.all([anonymousCaller(), anonymousCaller()]);
      const results = await Promise.allSettled(callers.map((c) => c.auth.refresh({ refreshToken: user.refreshToken })));
      const won = results.filter((r) => r.status === "fulfilled");
      const lost = results.filter((r) => r.status === "rejected");
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(1);
      expect((lost[0] as PromiseRejectedResult).reason).toMatchObject({ code: "UNAUTHORIZED" });
      const tokens = await db.refreshToken.findMany({ where: { familyId: user.familyId } });
      expect(tokens).toHaveLength(2);
      expect(tokens.filter((t) => t.retiredAt === null)).toHaveLength(1);

      const winner = (won[0] as PromiseFulfilledResult<{ accessToken: string; refreshToken: string }>).value;
      const family = await db.refreshTokenFamily.findUniqueOrThrow({ where: { id: user.familyId } });
      if (family.revokedAt === null) {
        expect((await me(bearer(winner.accessToken))).id).toBe(user.actor.userId);
        await callers[0]!.auth.refresh({ refreshToken: winner.refreshToken });
      } else {
        await expectCode(me(bearer(winner.accessToken)), "UNAUTHORIZED");
        await expectCode(callers[0]!.auth.refresh({ refreshToken: winner.refreshToken }), "UNAUTHORIZED");
      }
    }
  });

  it("many parallel refreshes: still exactly one winner", async () => {
    const user = await createTestUser();
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, async () => (await anonymousCaller()).auth.refresh({ refreshToken: user.refreshToken })),
    );
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    expect(await db.refreshToken.count({ where: { familyId: user.familyId } })).toBe(2);
  });
});

describe("signout", () => {
  it("revokes the sign-in: access token and refresh token stop working", async () => {
    const user = await createTestUser();
    expect((await me(user.authHeaders)).id).toBe(user.actor.userId);
    const caller = await anonymousCaller();
    expect(await caller.auth.signout({ refreshToken: user.refreshToken })).toEqual({ ok: true });
    await expectCode(me(user.authHeaders), "UNAUTHORIZED");
    await expectCode(caller.auth.refresh({ refreshToken: user.refreshToken }), "UNAUTHORIZED");
    // idempotent, and silent about tokens that do not exist
    expect(await caller.auth.signout({ refreshToken: user.refreshToken })).toEqual({ ok: true });
    expect(await caller.auth.signout({ refreshToken: randomBytes(32).toString("base64url") })).toEqual({ ok: true });
  });

  it("a family revoked in the database is refused at once, with nothing in Redis", async () => {
    const revoked = await createTestUser();
    const live = await createTestUser();
    await db.refreshTokenFamily.update({ where: { id: revoked.familyId }, data: { revokedAt: new Date() } });
    expect(await resolveActor(new Headers(revoked.authHeaders))).toBeNull();
    expect(await resolveActor(new Headers(live.authHeaders))).toEqual({ ...live.actor, familyId: live.familyId });
  });
});

describe("sign-in throttling", () => {
  const max = env.SIGNIN_MAX_FAILURES;
  // The wide limits are lowered here (they are read at every attempt): each failure costs an argon2
  // verification, and 150 of them would only make the same point more slowly.
  const limits = { SIGNIN_MAX_FAILURES_PER_USER: env.SIGNIN_MAX_FAILURES_PER_USER, SIGNIN_MAX_FAILURES_PER_ADDRESS: env.SIGNIN_MAX_FAILURES_PER_ADDRESS };
  beforeAll(() => {
    expect(limits).toEqual({ SIGNIN_MAX_FAILURES_PER_USER: 50, SIGNIN_MAX_FAILURES_PER_ADDRESS: 100 }); // the defaults
    Object.assign(env, { SIGNIN_MAX_FAILURES_PER_USER: 12, SIGNIN_MAX_FAILURES_PER_ADDRESS: 15 });
  });
  afterAll(() => {
    Object.assign(env, limits);
  });
  const signinFrom = async (address: string, username: string, pw: string) =>
    (await anonymousCaller(fromAddress(address))).auth.signin({ username, password: pw });

  it("per username + address: after SIGNIN_MAX_FAILURES failures that pair is refused, even with the right password", async () => {
    const user = await createTestUser();
    const address = newAddress();
    for (let i = 0; i < max; i++) await expectCode(signinFrom(address, user.username, "wrong password"), "UNAUTHORIZED");
    const resHeaders = new Headers();
    const caller = await callerFor(fromAddress(address), resHeaders);
    const error = await expectCode(caller.auth.signin({ username: user.username, password: user.password }), "TOO_MANY_REQUESTS");
    const retryAfter = (error.cause as { details: { retryAfter: number } }).details.retryAfter;
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(env.SIGNIN_WINDOW_SECONDS);
    expect(resHeaders.get("retry-after")).toBe(String(retryAfter));

    // the same user from another address, and another user from the same address, are not affected
    await signinFrom(newAddress(), user.username, user.password);
    const other = await createTestUser();
    await signinFrom(address, other.username, other.password);
  });

  it("one shared address, many users, one of them mistyping: only the mistyping person is stopped", async () => {
    const office = newAddress();
    const colleagues = await Promise.all(Array.from({ length: 6 }, () => createTestUser()));
    const [typo, ...others] = colleagues as [(typeof colleagues)[0], ...typeof colleagues];
    for (let i = 0; i < max + 3; i++) {
      const attempt = signinFrom(office, typo.username, `not-it-${i}`);
      await expectCode(attempt, i < max ? "UNAUTHORIZED" : "TOO_MANY_REQUESTS");
    }
    // everybody else behind the same address signs in, several times, and also survives a typo of their own
    for (const colleague of others) {
      await expectCode(signinFrom(office, colleague.username, "oops wrong"), "UNAUTHORIZED");
      await signinFrom(office, colleague.username, colleague.password);
      await signinFrom(office, colleague.username, colleague.password);
    }
  });

  it("per username + address, case-insensitively", async () => {
    const user = await createTestUser({ username: uniqueUsername("Case_") });
    const address = newAddress();
    for (let i = 0; i < max; i++) {
      const name = i % 2 ? user.username.toLowerCase() : user.username.toUpperCase();
      await expectCode(signinFrom(address, name, "wrong password"), "UNAUTHORIZED");
    }
    await expectCode(signinFrom(address, user.username, user.password), "TOO_MANY_REQUESTS");
  });

  it("a successful sign-in clears the username + address counter", async () => {
    const user = await createTestUser();
    const address = newAddress();
    for (let i = 0; i < max - 1; i++) await expectCode(signinFrom(address, user.username, "nope nope"), "UNAUTHORIZED");
    await signinFrom(address, user.username, user.password);
    for (let i = 0; i < max - 1; i++) await expectCode(signinFrom(address, user.username, "nope nope"), "UNAUTHORIZED");
    // 2 × (max - 1) failures in the window, but never max in a row: still allowed
    await signinFrom(address, user.username, user.password);
  });

  it("per username from many addresses: SIGNIN_MAX_FAILURES_PER_USER, except from an address the user signed in from", async () => {
    const user = await createTestUser();
    const home = newAddress();
    await signinFrom(home, user.username, user.password); // home becomes a known address
    for (let i = 0; i < env.SIGNIN_MAX_FAILURES_PER_USER; i++) {
      await expectCode(signinFrom(newAddress(), user.username, "distributed guess"), "UNAUTHORIZED");
    }
    // a guess (or the owner) from anywhere new is refused now...
    await expectCode(signinFrom(newAddress(), user.username, user.password), "TOO_MANY_REQUESTS");
    await expectCode(signinFrom(newAddress(), user.username, "distributed guess"), "TOO_MANY_REQUESTS");
    // ...but the owner at home is not locked out by the attack
    const pair = await signinFrom(home, user.username, user.password);
    expect((await me(bearer(pair.accessToken))).id).toBe(user.actor.userId);
  });

  it("per address over all usernames: SIGNIN_MAX_FAILURES_PER_ADDRESS, then everyone from it is refused", async () => {
    const address = newAddress();
    const victim = await createTestUser();
    for (let i = 0; i < env.SIGNIN_MAX_FAILURES_PER_ADDRESS; i++) {
      // a spray: never more than one guess per username, so no username + address counter trips
      await expectCode(signinFrom(address, uniqueUsername("spray_"), "wrong password"), "UNAUTHORIZED");
    }
    await expectCode(signinFrom(address, victim.username, victim.password), "TOO_MANY_REQUESTS");
    // the same user from elsewhere is fine
    await signinFrom(newAddress(), victim.username, victim.password);
  });

  it('the shared address "unknown" has no per-address counter (username + "unknown" still counts)', async () => {
    const caller = await anonymousCaller(); // no custom server in front: clientIp "unknown"
    for (let i = 0; i < max + 1; i++) {
      await expectCode(caller.auth.signin({ username: uniqueUsername("guess_"), password: "wrong password" }), "UNAUTHORIZED");
    }
    const user = await createTestUser();
    await caller.auth.signin({ username: user.username, password: user.password });
  });

  it("over HTTP: 429 with Retry-After from the tRPC route", async () => {
    const user = await createTestUser();
    const address = newAddress();
    for (let i = 0; i < max; i++) {
      const { response } = await httpMutation("auth.signin", { username: user.username, password: "wrong password" }, fromAddress(address));
      expect(response.status).toBe(401);
    }
    const { response, body } = await httpMutation("auth.signin", { username: user.username, password: user.password }, fromAddress(address));
    expect(response.status).toBe(429);
    const retryAfter = Number(response.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(env.SIGNIN_WINDOW_SECONDS);
    expect(body.error?.json.data.code).toBe("TOO_MANY_REQUESTS");
    expect((body.error?.json.data.details as { retryAfter: number }).retryAfter).toBe(retryAfter);
  });
});

describe("access tokens and the session cookie", () => {
  it("forged tokens (signed with another secret, or tampered) are rejected", async () => {
    const user = await createTestUser();
    const forged = signAccessToken(
      { userId: user.actor.userId, username: user.username, familyId: user.familyId },
      { secret: randomBytes(32).toString("hex") },
    );
    await expectCode(me(bearer(forged.token)), "UNAUTHORIZED");

    // someone else's id in a genuine token's payload
    const victim = await createTestUser();
    const [h, p, s] = user.accessToken.split(".") as [string, string, string];
    const claims = JSON.parse(Buffer.from(p, "base64url").toString()) as Record<string, unknown>;
    const tampered = `${h}.${Buffer.from(JSON.stringify({ ...claims, sub: victim.actor.userId })).toString("base64url")}.${s}`;
    await expectCode(me(bearer(tampered)), "UNAUTHORIZED");

    // alg "none"
    const none = `${Buffer.from(JSON.stringify({ alg: "none", typ: "JWT" })).toString("base64url")}.${p}.`;
    await expectCode(me(bearer(none)), "UNAUTHORIZED");

    for (const junk of ["", "abc", "a.b.c", `${user.accessToken}x`, "Bearer"]) {
      expect(await resolveActor(new Headers(bearer(junk)))).toBeNull();
    }
    expect(await resolveActor(new Headers({ authorization: `Basic ${user.accessToken}` }))).toBeNull();
    // the genuine one still works
    expect((await me(user.authHeaders)).id).toBe(user.actor.userId);
  });

  it("expired tokens are rejected", async () => {
    const user = await createTestUser();
    const subject = { userId: user.actor.userId, username: user.username, familyId: user.familyId };
    const expired = signAccessToken(subject, { now: new Date(Date.now() - (env.ACCESS_TOKEN_TTL_SECONDS + 5) * 1000) });
    expect(expired.expiresAt.getTime()).toBeLessThan(Date.now());
    await expectCode(me(bearer(expired.token)), "UNAUTHORIZED");
    // issued in the future (beyond clock skew)
    const future = signAccessToken(subject, { now: new Date(Date.now() + 3600_000) });
    await expectCode(me(bearer(future.token)), "UNAUTHORIZED");
  });

  it("no credentials: user.me is UNAUTHORIZED", async () => {
    await expectCode((await anonymousCaller()).user.me(), "UNAUTHORIZED");
    const { response } = await httpMutation("user.me", undefined);
    expect(response.status).toBe(405); // a query, not a mutation; the GET below is the real check
    const get = await trpcPost(new Request("http://localhost/api/trpc/user.me", { method: "GET" }));
    expect(get.status).toBe(401);
  });

  it("the next-auth session cookie and the bearer token resolve the same actor", async () => {
    const user = await createTestUser();
    const cookie = await encode({
      token: { sub: user.actor.userId, name: user.username, username: user.username, familyId: user.familyId },
      secret: authSecret(),
    });
    const viaBearer = await me(user.authHeaders);
    for (const name of ["next-auth.session-token", "__Secure-next-auth.session-token"]) {
      const headers = { cookie: `theme=dark; ${name}=${cookie}; other=1` };
      expect(await resolveActor(new Headers(headers))).toEqual({ ...user.actor, familyId: user.familyId });
      expect(await me(headers)).toEqual(viaBearer);
    }
    // next-auth splits big cookies into numbered chunks
    const half = Math.ceil(cookie.length / 2);
    const chunked = { cookie: `next-auth.session-token.0=${cookie.slice(0, half)}; next-auth.session-token.1=${cookie.slice(half)}` };
    expect(await resolveActor(new Headers(chunked))).toEqual({ ...user.actor, familyId: user.familyId });
  });

  it("forged, expired and revoked session cookies are rejected", async () => {
    const user = await createTestUser();
    const token = { sub: user.actor.userId, name: user.username, username: user.username, familyId: user.familyId };
    const cookieOf = (value: string) => ({ cookie: `next-auth.session-token=${value}` });

    const forged = await encode({ token, secret: randomBytes(32).toString("hex") });
    await expectCode(me(cookieOf(forged)), "UNAUTHORIZED");
    const expired = await encode({ token, secret: authSecret(), maxAge: -3600 });
    await expectCode(me(cookieOf(expired)), "UNAUTHORIZED");
    await expectCode(me(cookieOf("garbage")), "UNAUTHORIZED");
    const noFamily = await encode({ token: { sub: user.actor.userId, username: user.username }, secret: authSecret() });
    await expectCode(me(cookieOf(noFamily)), "UNAUTHORIZED");

    const good = await encode({ token, secret: authSecret() });
    expect((await me(cookieOf(good))).id).toBe(user.actor.userId);
    await (await anonymousCaller()).auth.signout({ refreshToken: user.refreshToken });
    await expectCode(me(cookieOf(good)), "UNAUTHORIZED");
  });

  it("a bearer header decides alone: a bad bearer token is not rescued by a good cookie", async () => {
    const user = await createTestUser();
    const cookie = await encode({
      token: { sub: user.actor.userId, username: user.username, familyId: user.familyId },
      secret: authSecret(),
    });
    const ctx = await createTrpcContext({
      headers: new Headers({ authorization: "Bearer not-a-token", cookie: `next-auth.session-token=${cookie}` }),
    });
    expect(ctx.actor).toBeNull();
    await expectCode(createCaller(ctx).user.me(), "UNAUTHORIZED");
  });
});
