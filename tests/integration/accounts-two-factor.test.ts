import { randomBytes, randomInt } from "node:crypto";
import { generate } from "otplib";
import superjson from "superjson";
import { afterAll, describe, expect, it, vi } from "vitest";
import { POST as trpcPost } from "~/app/api/trpc/[trpc]/route";
import { env } from "~/env";
import { db } from "~/server/db/client";
import { trustedAddressHeaders } from "~/server/http/client-address";
import { anonymousCaller, callerFor, createTestUser, deleteCreatedTestUsers, type TestUser } from "../helpers/users";

// Two-factor sign-in (TOTP) through the API: enrolment with a confirmation code, recovery codes,
// auth.signin's `otp` and the `otp_required` reason, replay, disabling with the password. Codes
// are computed with otplib from the secret the enrolment showed, as an authenticator app would.

afterAll(deleteCreatedTestUsers);

const newAddress = () => `10.99.${randomInt(256)}.${randomInt(1, 255)}`;
const fromNewAddress = () => anonymousCaller(trustedAddressHeaders(newAddress()));
const codeAt = (secret: string, offsetSeconds = 0) => generate({ secret, epoch: Math.floor(Date.now() / 1000) + offsetSeconds });

async function rejection(promise: Promise<unknown>): Promise<{ code: string; message: string; cause?: { details?: Record<string, unknown> } }> {
  return promise.then(
    () => {
      throw new Error("expected the call to fail");
    },
    (e: unknown) => e as never,
  );
}
const reasonOf = async (promise: Promise<unknown>) => (await rejection(promise)).cause?.details?.reason;

/** A user with two-factor on: its secret and recovery codes. */
async function enrolled(): Promise<TestUser & { secret: string; recoveryCodes: string[] }> {
  const user = await createTestUser();
  const setup = await user.caller.user.twoFactorSetup({ password: user.password });
  const { recoveryCodes } = await user.caller.user.twoFactorEnable({ code: await codeAt(setup.secret) });
  return { ...user, secret: setup.secret, recoveryCodes };
}

describe("enrolment", () => {
  it("setup needs the password, shows a secret, an otpauth URI and a QR code; a code from the app turns it on", async () => {
    const user = await createTestUser();
    expect(await reasonOf(user.caller.user.twoFactorSetup({ password: "not my password" }))).toBe("wrong_password");

    const setup = await user.caller.user.twoFactorSetup({ password: user.password });
    expect(setup.secret).toMatch(/^[A-Z2-7]{32}$/);
    const uri = new URL(setup.otpauthUri);
    expect(uri.protocol).toBe("otpauth:");
    expect(uri.host).toBe("totp");
    expect(uri.searchParams.get("secret")).toBe(setup.secret);
    expect(uri.searchParams.get("issuer")).toBe("filestore");
    expect(decodeURIComponent(uri.pathname)).toContain(user.username);
    expect(setup.qrDataUrl).toMatch(/^data:image\/png;base64,/);
    const png = Buffer.from(setup.qrDataUrl.split(",")[1]!, "base64");
    expect(png.subarray(1, 4).toString()).toBe("PNG");

    // not on until confirmed; the secret is sealed at rest
    expect((await user.caller.user.me()).twoFactor).toBe(false);
    const row = await db.user.findUniqueOrThrow({ where: { id: user.actor.userId } });
    expect(row.totpSecret).not.toContain(setup.secret);
    await (await fromNewAddress()).auth.signin({ username: user.username, password: user.password });

    expect(await reasonOf(user.caller.user.twoFactorEnable({ code: (Number(await codeAt(setup.secret)) ^ 1).toString().padStart(6, "0") }))).toBe(
      "otp_invalid",
    );
    const { recoveryCodes } = await user.caller.user.twoFactorEnable({ code: await codeAt(setup.secret) });
    expect(recoveryCodes).toHaveLength(10);
    expect(new Set(recoveryCodes).size).toBe(10);
    for (const code of recoveryCodes) expect(code).toMatch(/^[a-z2-9]{5}-[a-z2-9]{5}$/);
    expect(await user.caller.user.me()).toMatchObject({ twoFactor: true });
    expect(await user.caller.user.recoveryCodesLeft()).toBe(10);
    // stored as HMACs only
    const stored = await db.recoveryCode.findMany({ where: { userId: user.actor.userId } });
    expect(stored.map((r) => r.codeHash).join()).not.toMatch(new RegExp(recoveryCodes.map((c) => c.replace("-", "")).join("|")));
    // a second setup while on is refused
    expect((await rejection(user.caller.user.twoFactorSetup({ password: user.password }))).code).toBe("CONFLICT");
  });
});

describe("sign-in with two-factor on", () => {
  it("without a code: UNAUTHORIZED with data.reason otp_required (over HTTP too); wrong password says nothing more", async () => {
    const user = await enrolled();
    expect(await reasonOf((await fromNewAddress()).auth.signin({ username: user.username, password: user.password }))).toBe("otp_required");
    const wrong = await rejection((await fromNewAddress()).auth.signin({ username: user.username, password: "wrong password", otp: "123456" }));
    expect(wrong.code).toBe("UNAUTHORIZED");
    expect(wrong.message).toBe("Wrong username or password");
    expect(wrong.cause?.details?.reason).toBeUndefined();

    const response = await trpcPost(
      new Request("http://localhost/api/trpc/auth.signin", {
        method: "POST",
        headers: { "content-type": "application/json", ...trustedAddressHeaders(newAddress()) },
        body: JSON.stringify(superjson.serialize({ username: user.username, password: user.password })),
      }),
    );
    expect(response.status).toBe(401);
    const body = (await response.json()) as { error: { json: { data: { code: string; reason: string } } } };
    expect(body.error.json.data).toMatchObject({ code: "UNAUTHORIZED", reason: "otp_required" });
  });

  it("with the TOTP code: tokens; the same code twice is refused (replay); a later step's code works", async () => {
    const user = await enrolled();
    // the enrolment used the current step: wait for a code of a newer one
    const next = await codeAt(user.secret, 30);
    const pair = await (await fromNewAddress()).auth.signin({ username: user.username, password: user.password, otp: next });
    expect((await (await callerFor({ authorization: `Bearer ${pair.accessToken}` })).user.me()).id).toBe(user.actor.userId);
    expect(await reasonOf((await fromNewAddress()).auth.signin({ username: user.username, password: user.password, otp: next }))).toBe(
      "otp_invalid",
    );
  });

  it("two sign-ins racing with one code: exactly one gets in", async () => {
    const user = await enrolled();
    const code = await codeAt(user.secret, 30);
    const results = await Promise.allSettled(
      [0, 1, 2].map(async () => (await fromNewAddress()).auth.signin({ username: user.username, password: user.password, otp: code })),
    );
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
  });

  it("wrong codes count as failed sign-ins and are throttled", async () => {
    const user = await enrolled();
    const address = newAddress();
    const here = await anonymousCaller(trustedAddressHeaders(address));
    for (let i = 0; i < env.SIGNIN_MAX_FAILURES; i++) {
      expect(await reasonOf(here.auth.signin({ username: user.username, password: user.password, otp: String(100000 + i) }))).toBe("otp_invalid");
    }
    const throttled = await rejection(here.auth.signin({ username: user.username, password: user.password, otp: await codeAt(user.secret, 30) }));
    expect(throttled.code).toBe("TOO_MANY_REQUESTS");
  });

  it("a recovery code signs in once, typed any way; new codes replace the old ones (with the password)", async () => {
    const user = await enrolled();
    const [first, second] = user.recoveryCodes as [string, string];
    await (await fromNewAddress()).auth.signin({ username: user.username, password: user.password, otp: first });
    expect(await reasonOf((await fromNewAddress()).auth.signin({ username: user.username, password: user.password, otp: first }))).toBe(
      "otp_invalid",
    );
    await (await fromNewAddress()).auth.signin({ username: user.username, password: user.password, otp: ` ${second.toUpperCase().replace("-", " ")} ` });
    expect(await user.caller.user.recoveryCodesLeft()).toBe(8);

    expect(await reasonOf(user.caller.user.twoFactorRecoveryCodes({ password: "wrong password" }))).toBe("wrong_password");
    const { recoveryCodes } = await user.caller.user.twoFactorRecoveryCodes({ password: user.password });
    expect(await user.caller.user.recoveryCodesLeft()).toBe(10);
    expect(await reasonOf((await fromNewAddress()).auth.signin({ username: user.username, password: user.password, otp: user.recoveryCodes[2] }))).toBe(
      "otp_invalid",
    );
    await (await fromNewAddress()).auth.signin({ username: user.username, password: user.password, otp: recoveryCodes[0] });
  });

  it("turning it off needs the password; then sign-in needs no code", async () => {
    const user = await enrolled();
    expect(await reasonOf(user.caller.user.twoFactorDisable({ password: "wrong password" }))).toBe("wrong_password");
    expect((await user.caller.user.me()).twoFactor).toBe(true);
    expect(await user.caller.user.twoFactorDisable({ password: user.password })).toEqual({ ok: true });
    expect((await user.caller.user.me()).twoFactor).toBe(false);
    expect(await db.recoveryCode.count({ where: { userId: user.actor.userId } })).toBe(0);
    await (await fromNewAddress()).auth.signin({ username: user.username, password: user.password });
  });
});

describe("without SMTP configured", () => {
  it("mail goes to the server log; a password reset keeps two-factor on", async () => {
    expect(env.SMTP_HOST).toBeUndefined();
    const user = await enrolled();
    const email = `${user.username}@example.test`;
    const logged: string[] = [];
    const info = vi.spyOn(console, "info").mockImplementation((...args: unknown[]) => void logged.push(args.map(String).join(" ")));
    try {
      await user.caller.user.requestEmailCode({ email });
      const codeMail = logged.find((l) => l.includes(`To: ${email}`) && l.includes("verification code"));
      expect(codeMail).toContain("SMTP_HOST is not set");
      await user.caller.user.verifyEmail({ code: /^\s+([0-9]{6})\s*$/m.exec(codeMail!)![1]! });

      await (await fromNewAddress()).auth.requestPasswordReset({ username: user.username });
      await expect.poll(() => logged.some((l) => l.includes("Reset your filestore password")), { timeout: 10_000 }).toBe(true);
      const resetMail = logged.find((l) => l.includes("Reset your filestore password"))!;
      const token = new URL(/https?:\/\/\S+/.exec(resetMail)![0]).searchParams.get("token")!;
      const password = `reset-${randomBytes(6).toString("hex")}`;
      await (await fromNewAddress()).auth.resetPassword({ token, password });
      expect(await reasonOf((await fromNewAddress()).auth.signin({ username: user.username, password }))).toBe("otp_required");
      await (await fromNewAddress()).auth.signin({ username: user.username, password, otp: user.recoveryCodes[0] });
    } finally {
      info.mockRestore();
    }
  });
});
