import { randomBytes, randomInt } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { codeIn, linkIn, startSmtpSink, type ReceivedMail } from "../helpers/smtp";

// Email verification and password resets against a real SMTP server in this process (smtp-server,
// with AUTH): the drive's nodemailer transport delivers to it, and the tests read codes and links
// out of the mails as a user would. The app modules are imported after SMTP_* point at it.

const smtp = await startSmtpSink();
Object.assign(process.env, smtp.env);

const { db } = await import("~/server/db/client");
const { redis } = await import("~/server/redis/client");
const { env } = await import("~/env");
const { trustedAddressHeaders } = await import("~/server/http/client-address");
const { anonymousCaller, callerFor, createTestUser, deleteCreatedTestUsers } = await import("../helpers/users");

afterAll(async () => {
  await deleteCreatedTestUsers();
  await smtp.stop();
});

type TestUser = Awaited<ReturnType<typeof createTestUser>>;

const newAddress = () => `10.88.${randomInt(256)}.${randomInt(1, 255)}`;
const fromNewAddress = () => anonymousCaller(trustedAddressHeaders(newAddress()));
const mailboxFor = (user: { username: string }) => `${user.username.toLowerCase()}@example.test`;
const mailTo = (address: string, subject: RegExp) => (m: ReceivedMail) => m.to.includes(address) && subject.test(m.subject);

async function rejection(promise: Promise<unknown>): Promise<{ code: string; message: string; cause?: { details?: Record<string, unknown> } }> {
  return promise.then(
    () => {
      throw new Error("expected the call to fail");
    },
    (e: unknown) => e as never,
  );
}

/** A user whose verified address is set directly (the verification flow has its own tests). */
async function userWithEmail(): Promise<TestUser & { email: string }> {
  const user = await createTestUser();
  const email = mailboxFor(user);
  await db.user.update({ where: { id: user.actor.userId }, data: { email, emailVerifiedAt: new Date() } });
  return { ...user, email };
}

describe("email verification", () => {
  it("mails a 6-digit code over SMTP; the code verifies the address, which user.me then shows", async () => {
    const user = await createTestUser();
    const email = mailboxFor(user);
    const sent = await user.caller.user.requestEmailCode({ email: email.toUpperCase() });
    expect(sent.sentTo).toBe(email);
    const mail = await smtp.waitFor(mailTo(email, /verification code/));
    expect(mail.from).toBe("drive@filestore.test");
    const code = codeIn(mail);
    expect(mail.subject).toBe(`${code} is your filestore verification code`);

    // stored hashed: Redis holds an HMAC of it, never the code
    const stored = await redis.hgetall(`acct:email-code:${user.actor.userId}`);
    expect(stored.email).toBe(email);
    expect(JSON.stringify(stored)).not.toContain(code);
    const ttl = await redis.ttl(`acct:email-code:${user.actor.userId}`);
    expect(ttl).toBeGreaterThan(590);
    expect(ttl).toBeLessThanOrEqual(600);

    expect(await user.caller.user.verifyEmail({ code })).toEqual({ email });
    expect(await user.caller.user.me()).toMatchObject({ email, emailVerified: true });
    // used up
    expect((await rejection(user.caller.user.verifyEmail({ code }))).cause?.details?.reason).toBe("no_code");
  });

  it("5 tries: wrong codes count down, and after the fifth even the right code needs a new mail", async () => {
    const user = await createTestUser();
    const email = mailboxFor(user);
    await user.caller.user.requestEmailCode({ email });
    const code = codeIn(await smtp.waitFor(mailTo(email, /verification code/)));
    const wrong = code === "000000" ? "111111" : "000000";
    for (let left = 4; left >= 0; left--) {
      const error = await rejection(user.caller.user.verifyEmail({ code: wrong }));
      expect(error.code).toBe("BAD_REQUEST");
      expect(error.cause?.details).toMatchObject({ reason: "wrong_code", attemptsLeft: left });
    }
    const after = await rejection(user.caller.user.verifyEmail({ code }));
    expect(after.cause?.details?.reason).toBe("no_code");
    expect((await user.caller.user.me()).emailVerified).toBe(false);
  });

  it("asking again within a minute is TOO_MANY_REQUESTS with retryAfter; an expired code is gone", async () => {
    const user = await createTestUser();
    const email = mailboxFor(user);
    await user.caller.user.requestEmailCode({ email });
    const code = codeIn(await smtp.waitFor(mailTo(email, /verification code/)));
    const again = await rejection(user.caller.user.requestEmailCode({ email }));
    expect(again.code).toBe("TOO_MANY_REQUESTS");
    expect(again.cause?.details?.retryAfter).toBeGreaterThan(50);
    expect(again.cause?.details?.retryAfter).toBeLessThanOrEqual(60);

    // ten minutes pass (the key's TTL runs out)
    await redis.pexpire(`acct:email-code:${user.actor.userId}`, 1);
    await new Promise((r) => setTimeout(r, 20));
    expect((await rejection(user.caller.user.verifyEmail({ code }))).cause?.details?.reason).toBe("no_code");
  });

  it("an address verified by another account is CONFLICT at verification; bad addresses are BAD_REQUEST", async () => {
    const owner = await userWithEmail();
    const other = await createTestUser();
    await other.caller.user.requestEmailCode({ email: owner.email });
    const code = codeIn(await smtp.waitFor((m) => m.to.includes(owner.email) && m.text.includes(other.username)));
    expect((await rejection(other.caller.user.verifyEmail({ code }))).code).toBe("CONFLICT");
    for (const email of ["not an address", "a@", `${"x".repeat(250)}@example.test`]) {
      expect((await rejection(other.caller.user.requestEmailCode({ email }))).code).toBe("BAD_REQUEST");
    }
  });

  it("changing a verified address tells the old one", async () => {
    const user = await userWithEmail();
    const next = `new-${user.email}`;
    await user.caller.user.requestEmailCode({ email: next });
    await user.caller.user.verifyEmail({ code: codeIn(await smtp.waitFor(mailTo(next, /verification code/))) });
    const notice = await smtp.waitFor(mailTo(user.email, /email address was changed/));
    expect(notice.text).toContain(next);
    expect((await user.caller.user.me()).email).toBe(next);
  });

  it("a mail the SMTP server refuses is SERVICE_UNAVAILABLE, and asking again right away is allowed", async () => {
    const user = await createTestUser();
    const email = mailboxFor(user);
    smtp.setRefusing(true);
    try {
      expect((await rejection(user.caller.user.requestEmailCode({ email }))).code).toBe("SERVICE_UNAVAILABLE");
    } finally {
      smtp.setRefusing(false);
    }
    await user.caller.user.requestEmailCode({ email });
    await smtp.waitFor(mailTo(email, /verification code/));
  });
});

describe("password reset", () => {
  it("the whole flow: request by username, link mailed, new password set, every sign-in ended, link used once", async () => {
    const user = await userWithEmail();
    const earlier = await (await fromNewAddress()).auth.signin({ username: user.username, password: user.password });

    expect(await (await fromNewAddress()).auth.requestPasswordReset({ username: user.username })).toEqual({ ok: true });
    const mail = await smtp.waitFor(mailTo(user.email, /Reset your filestore password/));
    const link = linkIn(mail);
    expect(`${link.origin}${link.pathname}`).toBe(new URL("/reset-password", env.NEXTAUTH_URL).toString());
    const token = link.searchParams.get("token")!;
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // only a hash of it is stored
    const row = await db.passwordResetToken.findFirstOrThrow({ where: { userId: user.actor.userId, usedAt: null } });
    expect(row.tokenHash).not.toContain(token);
    expect(row.expiresAt.getTime() - row.createdAt.getTime()).toBe(env.PASSWORD_RESET_TTL_MINUTES * 60_000);

    const newPassword = `new-${randomBytes(9).toString("base64url")}`;
    const anonymous = await fromNewAddress();
    expect(await anonymous.auth.resetPassword({ token, password: newPassword })).toEqual({ ok: true, username: user.username });

    // every sign-in of the user ended: API tokens, refresh tokens
    for (const accessToken of [user.accessToken, earlier.accessToken]) {
      expect((await rejection((await callerFor({ authorization: `Bearer ${accessToken}` })).user.me())).code).toBe("UNAUTHORIZED");
    }
    expect((await rejection(anonymous.auth.refresh({ refreshToken: earlier.refreshToken }))).code).toBe("UNAUTHORIZED");
    // the old password is gone, the new one works
    expect((await rejection((await fromNewAddress()).auth.signin({ username: user.username, password: user.password }))).code).toBe("UNAUTHORIZED");
    await (await fromNewAddress()).auth.signin({ username: user.username, password: newPassword });
    // single use
    const again = await rejection(anonymous.auth.resetPassword({ token, password: "yet another one" }));
    expect(again.code).toBe("BAD_REQUEST");
    expect(again.cause?.details?.reason).toBe("invalid_token");
    // and the owner is told
    await smtp.waitFor(mailTo(user.email, /password was changed/));
  });

  it("by email address, case-insensitively; a newer link replaces the older; an expired link is refused", async () => {
    const user = await userWithEmail();
    await (await fromNewAddress()).auth.requestPasswordReset({ email: user.email.toUpperCase() });
    const first = linkIn(await smtp.waitFor(mailTo(user.email, /Reset your/))).searchParams.get("token")!;
    await (await fromNewAddress()).auth.requestPasswordReset({ username: user.username });
    const second = linkIn(
      await smtp.waitFor((m) => mailTo(user.email, /Reset your/)(m) && !m.text.includes(first)),
    ).searchParams.get("token")!;
    expect(second).not.toBe(first);

    const caller = await fromNewAddress();
    expect((await rejection(caller.auth.resetPassword({ token: first, password: "superseded link" }))).cause?.details?.reason).toBe(
      "invalid_token",
    );
    await db.passwordResetToken.updateMany({ where: { userId: user.actor.userId, usedAt: null }, data: { expiresAt: new Date(Date.now() - 1000) } });
    expect((await rejection(caller.auth.resetPassword({ token: second, password: "expired link" }))).cause?.details?.reason).toBe(
      "invalid_token",
    );
    for (const token of ["", "short", "x".repeat(43), randomBytes(32).toString("base64url")]) {
      expect((await rejection(caller.auth.resetPassword({ token, password: "whatever password" }))).code).toBe("BAD_REQUEST");
    }
  });

  it("a reset lifts the sign-in throttle its owner ran into", async () => {
    const user = await userWithEmail();
    const address = newAddress();
    const here = await anonymousCaller(trustedAddressHeaders(address));
    for (let i = 0; i < env.SIGNIN_MAX_FAILURES; i++) {
      await expect(here.auth.signin({ username: user.username, password: "forgot it" })).rejects.toMatchObject({ code: "UNAUTHORIZED" });
    }
    await expect(here.auth.signin({ username: user.username, password: user.password })).rejects.toMatchObject({ code: "TOO_MANY_REQUESTS" });
    await here.auth.requestPasswordReset({ username: user.username });
    const token = linkIn(await smtp.waitFor(mailTo(user.email, /Reset your/))).searchParams.get("token")!;
    await here.auth.resetPassword({ token, password: "remembered now" });
    await here.auth.signin({ username: user.username, password: "remembered now" });
  });
});

describe("no account enumeration", () => {
  it("the same answer for an account with an address, one without, and none; mail only to the first", async () => {
    const withEmail = await userWithEmail();
    const without = await createTestUser();
    const unknown = `nobody_${randomBytes(6).toString("hex")}`;
    const answers = [];
    for (const input of [
      { username: withEmail.username },
      { username: without.username },
      { username: unknown },
      { email: withEmail.email },
      { email: `${unknown}@example.test` },
    ]) {
      answers.push(await (await fromNewAddress()).auth.requestPasswordReset(input));
    }
    expect(new Set(answers.map((a) => JSON.stringify(a))).size).toBe(1);
    // two mails for the account with an address (by username and by email), none for the others
    await expect.poll(() => smtp.mails.filter(mailTo(withEmail.email, /Reset your/)).length, { timeout: 20_000 }).toBe(2);
    await new Promise((r) => setTimeout(r, 500));
    expect(smtp.mails.some((m) => m.to.some((to) => to.includes(unknown) || to.includes(without.username.toLowerCase())))).toBe(false);
    expect(await db.passwordResetToken.count({ where: { userId: without.actor.userId } })).toBe(0);
  });

  it("nor by timing: the answer never waits for the account's lookup, link or mail", async () => {
    const withEmail = await userWithEmail();
    smtp.setDelay(1500); // a slow mail server: any waiting on the mail would show by seconds
    try {
      const samples: Record<"existing" | "unknown", number[]> = { existing: [], unknown: [] };
      for (let i = 0; i < 12; i++) {
        for (const kind of ["existing", "unknown"] as const) {
          const caller = await fromNewAddress();
          const username = kind === "existing" ? withEmail.username : `nobody_${randomBytes(6).toString("hex")}`;
          const started = performance.now();
          await caller.auth.requestPasswordReset({ username });
          samples[kind].push(performance.now() - started);
          if (kind === "existing" && i === 0) {
            // the link is made after the answer was given, not before
            const answeredAt = Date.now();
            const token = await expect
              .poll(() => db.passwordResetToken.findFirst({ where: { userId: withEmail.actor.userId } }), { timeout: 10_000 })
              .not.toBeNull()
              .then(() => db.passwordResetToken.findFirstOrThrow({ where: { userId: withEmail.actor.userId } }));
            expect(token.createdAt.getTime()).toBeGreaterThanOrEqual(answeredAt);
          }
        }
      }
      const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
      const [existing, unknown] = [median(samples.existing), median(samples.unknown)];
      // far below the 1.5 s the mail takes, and close to each other (the machine is shared: a loose bound)
      expect(existing).toBeLessThan(750);
      expect(Math.abs(existing - unknown)).toBeLessThan(100);
    } finally {
      smtp.setDelay(0);
    }
    // the account's mails do arrive (3 per hour per account; the rest are dropped quietly)
    await smtp.waitFor(mailTo(withEmail.email, /Reset your/), 30_000);
  });

  it("reset requests are throttled per client address, whatever the account", async () => {
    const caller = await anonymousCaller(trustedAddressHeaders(newAddress()));
    for (let i = 0; i < 10; i++) await caller.auth.requestPasswordReset({ username: `nobody_${i}_${randomBytes(4).toString("hex")}` });
    const error = await rejection(caller.auth.requestPasswordReset({ username: "someone_else" }));
    expect(error.code).toBe("TOO_MANY_REQUESTS");
  });
});
