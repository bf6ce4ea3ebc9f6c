import { randomBytes, randomInt } from "node:crypto";
import { encode } from "next-auth/jwt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { POST as trpcPost } from "~/app/api/trpc/[trpc]/route";
import { authSecret, env } from "~/env";
import { db } from "~/server/db/client";
import { trustedAddressHeaders } from "~/server/http/client-address";
import { bytes, cleanupDriveUsers, putFile } from "../helpers/drive-files";
import { errorCode, get } from "../helpers/drive-http";
import { startHttpServer, type TestHttpServer } from "../helpers/http-server";
import { anonymousCaller, callerFor, createTestUser, type TestUser } from "../helpers/users";

// The admin's procedures (admin.listUsers, setQuota, setDisabled): refused to everyone else, and
// what disabling does: tokens, cookies and refresh tokens stop at once, sign-in is refused, share
// links and signed download URLs stop serving; re-enabling brings the account (not its old
// sign-ins) back.

let server: TestHttpServer;
const users: TestUser[] = [];
let admin: TestUser;

async function user(opts: { quotaBytes?: number; username?: string } = {}) {
  const u = await createTestUser(opts);
  users.push(u);
  return u;
}

beforeAll(async () => {
  server = await startHttpServer();
  admin = await user();
  await db.user.update({ where: { id: admin.actor.userId }, data: { role: "admin" } });
});
afterAll(async () => {
  await server.close();
  await cleanupDriveUsers(users);
});

const newAddress = () => `10.66.${randomInt(256)}.${randomInt(1, 255)}`;
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

async function rejection(promise: Promise<unknown>): Promise<{ code: string; cause?: { details?: Record<string, unknown> } }> {
  return promise.then(
    () => {
      throw new Error("expected the call to fail");
    },
    (e: unknown) => e as never,
  );
}
const codeOf = async (promise: Promise<unknown>) => (await rejection(promise)).code;

describe("admin procedures are for admins only", () => {
  it("FORBIDDEN for a signed-in non-admin (HTTP 403), UNAUTHORIZED without credentials", async () => {
    const someone = await user();
    const victim = await user();
    const calls = (c: TestUser["caller"]) => [
      c.admin.listUsers(),
      c.admin.setQuota({ userId: victim.actor.userId, quotaBytes: 1 }),
      c.admin.setDisabled({ userId: victim.actor.userId, disabled: true }),
      c.admin.createInvite(),
      c.admin.listInvites(),
      c.admin.revokeInvite({ id: "whatever" }),
      c.admin.createResetLink({ userId: victim.actor.userId }),
      c.admin.resetTwoFactor({ userId: victim.actor.userId }),
    ];
    for (const call of calls(someone.caller)) expect(await codeOf(call)).toBe("FORBIDDEN");
    for (const call of calls(await anonymousCaller())) expect(await codeOf(call)).toBe("UNAUTHORIZED");
    expect((await db.user.findUniqueOrThrow({ where: { id: victim.actor.userId } })).disabledAt).toBeNull();
    expect((await someone.caller.user.me()).role).toBe("user");

    const response = await trpcPost(
      new Request("http://localhost/api/trpc/admin.setDisabled", {
        method: "POST",
        headers: { "content-type": "application/json", ...someone.authHeaders },
        body: JSON.stringify({ json: { userId: victim.actor.userId, disabled: true } }),
      }),
    );
    expect(response.status).toBe(403);
  });

  it("ADMIN_USERNAME makes that account an admin without touching the database", async () => {
    const named = await user();
    expect(await codeOf(named.caller.admin.listUsers())).toBe("FORBIDDEN");
    const before = env.ADMIN_USERNAME;
    env.ADMIN_USERNAME = named.username.toUpperCase();
    try {
      expect((await named.caller.user.me()).role).toBe("admin");
      await named.caller.admin.listUsers({ q: named.username });
    } finally {
      env.ADMIN_USERNAME = before;
    }
    expect(await codeOf(named.caller.admin.listUsers())).toBe("FORBIDDEN");
  });
});

describe("admin.listUsers and admin.setQuota", () => {
  it("lists accounts with their usage, searchable and paged", async () => {
    const holder = await user();
    await putFile(holder, { name: "a.bin", data: bytes(3000, 1) });
    await putFile(holder, { name: "b.bin", data: bytes(5000, 2) });
    await (await anonymousCaller(trustedAddressHeaders(newAddress()))).auth.signin({ username: holder.username, password: holder.password });

    const { items } = await admin.caller.admin.listUsers({ q: holder.username });
    expect(items).toEqual([
      expect.objectContaining({
        id: holder.actor.userId,
        username: holder.username,
        role: "user",
        disabled: false,
        twoFactor: false,
        usedBytes: 8000,
        quotaBytes: env.DEFAULT_QUOTA_BYTES,
        files: 2,
        lastSigninAt: expect.any(Date),
      }),
    ]);

    // pages of 2 walk every account once, in username order
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await admin.caller.admin.listUsers({ limit: 2, cursor });
      seen.push(...page.items.map((u) => u.username));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(seen).toEqual([...seen].sort((a, b) => a.localeCompare(b, "en", { sensitivity: "base" })));
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual(expect.arrayContaining([admin.username, holder.username]));
  });

  it("sets a quota that uploads then meet; bad values and unknown users are refused", async () => {
    const target = await user();
    const updated = await admin.caller.admin.setQuota({ userId: target.actor.userId, quotaBytes: 4096 });
    expect(updated.quotaBytes).toBe(4096);
    expect((await target.caller.user.me()).quotaBytes).toBe(4096);
    expect(await codeOf(target.caller.upload.init({ name: "big.bin", size: 5000 }))).toBe("PAYLOAD_TOO_LARGE");
    await target.caller.upload.init({ name: "small.bin", size: 4000 });

    expect(await codeOf(admin.caller.admin.setQuota({ userId: target.actor.userId, quotaBytes: -1 }))).toBe("BAD_REQUEST");
    expect(await codeOf(admin.caller.admin.setQuota({ userId: target.actor.userId, quotaBytes: 1.5 }))).toBe("BAD_REQUEST");
    expect(await codeOf(admin.caller.admin.setQuota({ userId: "no-such-user", quotaBytes: 1 }))).toBe("NOT_FOUND");
  });
});

describe("helping a locked-out user", () => {
  it("a reset link to hand over (no mail needed) and two-factor turned off", async () => {
    const target = await user();
    const link = await admin.caller.admin.createResetLink({ userId: target.actor.userId });
    const token = new URL(link.url).searchParams.get("token")!;
    expect(new URL(link.url).pathname).toBe("/reset-password");
    const anonymous = await anonymousCaller(trustedAddressHeaders(newAddress()));
    await anonymous.auth.resetPassword({ token, password: "handed over password" });
    await anonymous.auth.signin({ username: target.username, password: "handed over password" });

    // two-factor on, phone lost: the admin turns it off
    const self = await (await anonymousCaller(trustedAddressHeaders(newAddress()))).auth.signin({
      username: target.username,
      password: "handed over password",
    });
    const caller = await callerFor(bearer(self.accessToken));
    const setup = await caller.user.twoFactorSetup({ password: "handed over password" });
    const { generate } = await import("otplib");
    await caller.user.twoFactorEnable({ code: await generate({ secret: setup.secret }) });
    const otpRequired = await rejection(anonymous.auth.signin({ username: target.username, password: "handed over password" }));
    expect(otpRequired.cause?.details?.reason).toBe("otp_required");
    expect(await admin.caller.admin.resetTwoFactor({ userId: target.actor.userId })).toMatchObject({ twoFactor: false });
    await anonymous.auth.signin({ username: target.username, password: "handed over password" });
    expect(await db.recoveryCode.count({ where: { userId: target.actor.userId } })).toBe(0);
    expect(await codeOf(admin.caller.admin.createResetLink({ userId: "no-such-user" }))).toBe("NOT_FOUND");
  });
});

describe("admin.setDisabled", () => {
  it("stops the user's tokens, cookies, refresh tokens, sign-in, share links and signed URLs at once", async () => {
    const target = await user();
    const file = await putFile(target, { name: "shared.txt", data: "shared bytes" });
    const share = await target.caller.share.create({ id: file.id });
    const { url: signedUrl } = await target.caller.file.downloadUrl({ id: file.id });
    const signed = new URL(signedUrl);
    const signedLocal = `${server.baseUrl}${signed.pathname}${signed.search}`;
    const api = await (await anonymousCaller(trustedAddressHeaders(newAddress()))).auth.signin({
      username: target.username,
      password: target.password,
    });
    const cookie = {
      cookie: `next-auth.session-token=${await encode({
        token: { sub: target.actor.userId, username: target.username, familyId: target.familyId },
        secret: authSecret(),
      })}`,
    };
    // all of it works before
    expect((await (await callerFor(cookie)).user.me()).id).toBe(target.actor.userId);
    expect((await get(`${server.baseUrl}/api/s/${share.token}/content`)).status).toBe(200);
    expect((await get(signedLocal)).status).toBe(200);
    expect((await get(`${server.baseUrl}/api/files/${file.id}/content`, { headers: target.authHeaders })).status).toBe(200);

    const result = await admin.caller.admin.setDisabled({ userId: target.actor.userId, disabled: true });
    expect(result).toMatchObject({ id: target.actor.userId, disabled: true });

    for (const headers of [target.authHeaders, bearer(api.accessToken), cookie]) {
      expect(await codeOf((await callerFor(headers)).user.me())).toBe("UNAUTHORIZED");
    }
    const raw = await get(`${server.baseUrl}/api/files/${file.id}/content`, { headers: target.authHeaders });
    expect(raw.status).toBe(401);
    expect(await codeOf((await anonymousCaller()).auth.refresh({ refreshToken: api.refreshToken }))).toBe("UNAUTHORIZED");
    const shareDownload = await get(`${server.baseUrl}/api/s/${share.token}/content`);
    expect(shareDownload.status).toBe(404);
    expect(errorCode(shareDownload)).toBe("NOT_FOUND");
    expect(await codeOf((await anonymousCaller()).share.open({ token: share.token }))).toBe("NOT_FOUND");
    expect((await get(signedLocal)).status).toBe(403);

    // sign-in: the right password learns the account is disabled, a wrong one learns nothing
    const signinFrom = async (password: string) =>
      (await anonymousCaller(trustedAddressHeaders(newAddress()))).auth.signin({ username: target.username, password });
    const refused = await rejection(signinFrom(target.password));
    expect(refused).toMatchObject({ code: "UNAUTHORIZED" });
    expect(refused.cause?.details?.reason).toBe("account_disabled");
    expect((await rejection(signinFrom("wrong password"))).cause?.details?.reason).toBeUndefined();

    const listed = await admin.caller.admin.listUsers({ q: target.username });
    expect(listed.items[0]).toMatchObject({ disabled: true });

    // re-enabled: sign-in and links work again; the sign-ins that were ended stay ended
    await admin.caller.admin.setDisabled({ userId: target.actor.userId, disabled: false });
    const again = await signinFrom(target.password);
    expect((await (await callerFor(bearer(again.accessToken))).user.me()).id).toBe(target.actor.userId);
    expect((await get(`${server.baseUrl}/api/s/${share.token}/content`)).status).toBe(200);
    expect(await codeOf((await callerFor(target.authHeaders)).user.me())).toBe("UNAUTHORIZED");
    expect(await codeOf((await callerFor(cookie)).user.me())).toBe("UNAUTHORIZED");
  });

  it("an admin cannot disable themself; unknown users are NOT_FOUND", async () => {
    const error = await rejection(admin.caller.admin.setDisabled({ userId: admin.actor.userId, disabled: true }));
    expect(error.code).toBe("BAD_REQUEST");
    expect(await codeOf(admin.caller.admin.setDisabled({ userId: `nobody${randomBytes(4).toString("hex")}`, disabled: true }))).toBe("NOT_FOUND");
    expect((await admin.caller.user.me()).role).toBe("admin");
  });
});
