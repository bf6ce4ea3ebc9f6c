import { cp, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { randomBytes, randomInt } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { migrate } from "~/server/db/migrate";
import { scratchDatabase } from "../helpers/scratch-db";

// Sign-up policy on a drive of its own: this file runs against a fresh, empty database (not the
// run's shared one), so it can see the first account become the admin, and switch SIGNUP_MODE
// between open, invite and closed. The app modules are imported after DATABASE_URL points at it.

const migrationsDir = path.resolve(import.meta.dirname, "../../prisma/migrations");
const drive = await scratchDatabase("signup");
await migrate(drive.url, migrationsDir);
process.env.DATABASE_URL = drive.url;
process.env.SIGNUP_MODE = "invite";

const { env } = await import("~/env");
const { db } = await import("~/server/db/client");
const { trustedAddressHeaders } = await import("~/server/http/client-address");
const { anonymousCaller, callerFor } = await import("../helpers/users");

const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  await db.$disconnect();
  await drive.drop();
  for (const cleanup of cleanups) await cleanup();
});

const newAddress = () => `10.55.${randomInt(256)}.${randomInt(1, 255)}`;
const password = () => `pw-${randomBytes(9).toString("base64url")}`;
const name = (prefix: string) => `${prefix}${randomBytes(5).toString("hex")}`;

async function signup(input: { username: string; password: string; invite?: string }, address = newAddress()) {
  return (await anonymousCaller(trustedAddressHeaders(address))).auth.signup(input);
}
async function rejection(promise: Promise<unknown>): Promise<{ code: string; cause?: { details?: Record<string, unknown> } }> {
  return promise.then(
    () => {
      throw new Error("expected the call to fail");
    },
    (e: unknown) => e as never,
  );
}
const reasonOf = async (promise: Promise<unknown>) => (await rejection(promise)).cause?.details?.reason;

function withMode<T>(mode: typeof env.SIGNUP_MODE, fn: () => Promise<T>): Promise<T> {
  const before = env.SIGNUP_MODE;
  env.SIGNUP_MODE = mode;
  return fn().finally(() => {
    env.SIGNUP_MODE = before;
  });
}

let adminToken = "";
const adminCaller = () => callerFor({ authorization: `Bearer ${adminToken}` });

describe("the first account", () => {
  it("can sign up whatever the mode, and is the admin; the next one is not", async () => {
    expect(await (await anonymousCaller()).auth.signupPolicy()).toEqual({ mode: "invite", firstAccount: true });
    // Four sign-ups without an invitation race on the empty drive: exactly one is the first account.
    const attempts = await Promise.allSettled([0, 1, 2, 3].map(() => signup({ username: name("owner_"), password: password() })));
    const won = attempts.filter((a) => a.status === "fulfilled");
    expect(won.length).toBe(1);
    for (const lost of attempts.filter((a) => a.status === "rejected")) {
      expect((lost.reason as { cause?: { details?: { reason?: string } } }).cause?.details?.reason).toBe("invite_required");
    }
    expect(await db.user.count()).toBe(1);
    expect(await db.user.count({ where: { role: "admin" } })).toBe(1);
    const first = won[0]!.value;
    adminToken = first.accessToken;
    expect((await (await adminCaller()).user.me()).role).toBe("admin");
    expect(await (await anonymousCaller()).auth.signupPolicy()).toEqual({ mode: "invite", firstAccount: false });

    const invite = await (await adminCaller()).admin.createInvite();
    const second = await signup({ username: name("second_"), password: password(), invite: invite.code });
    expect((await (await callerFor({ authorization: `Bearer ${second.accessToken}` })).user.me()).role).toBe("user");
  });

  it("on a drive that had accounts before roles, the migration makes the oldest one the admin", async () => {
    const old = await scratchDatabase("roles");
    cleanups.push(() => old.drop());
    const before = await mkdtemp(path.join(os.tmpdir(), "fs-migrations-"));
    cleanups.push(() => rm(before, { recursive: true, force: true }));
    await cp(migrationsDir, before, { recursive: true });
    await rm(path.join(before, "20261202200000_accounts"), { recursive: true });
    await migrate(old.url, before);
    const conn = await old.connect();
    try {
      await conn.query(
        `INSERT INTO User (id, username, passwordHash, quotaBytes, createdAt, updatedAt) VALUES
         ('u2', 'later', 'x', 1, '2026-01-02', NOW(3)), ('u1', 'oldest', 'x', 1, '2026-01-01', NOW(3)), ('u3', 'latest', 'x', 1, '2026-01-03', NOW(3))`,
      );
      await migrate(old.url, migrationsDir);
      const rows: Array<{ username: string; role: string }> = await conn.query("SELECT username, role FROM User ORDER BY username");
      expect(rows).toEqual([
        { username: "later", role: "user" },
        { username: "latest", role: "user" },
        { username: "oldest", role: "admin" },
      ]);
    } finally {
      await conn.end();
    }
  });
});

describe("SIGNUP_MODE=invite", () => {
  it("needs an invitation; each one signs up one account, and can be revoked or expire", async () => {
    expect(await reasonOf(signup({ username: name("u_"), password: password() }))).toBe("invite_required");
    expect(await reasonOf(signup({ username: name("u_"), password: password(), invite: randomBytes(16).toString("base64url") }))).toBe(
      "invite_invalid",
    );

    const admin = await adminCaller();
    const invite = await admin.admin.createInvite({ expiresInDays: 2 });
    expect(invite.url).toBe(new URL(`/signup?invite=${invite.code}`, env.NEXTAUTH_URL).toString());
    expect(invite.expiresAt.getTime() - Date.now()).toBeGreaterThan(2 * 86_400_000 - 60_000);
    // stored hashed
    expect((await db.invite.findUniqueOrThrow({ where: { id: invite.id } })).codeHash).not.toContain(invite.code);

    // a failed sign-up (taken username) leaves the invitation unused
    const taken = name("taken_");
    await signup({ username: taken, password: password(), invite: (await admin.admin.createInvite()).code });
    expect((await rejection(signup({ username: taken, password: password(), invite: invite.code }))).code).toBe("CONFLICT");

    const username = name("invited_");
    await signup({ username, password: password(), invite: invite.code });
    expect(await reasonOf(signup({ username: name("u_"), password: password(), invite: invite.code }))).toBe("invite_invalid");

    const revoked = await admin.admin.createInvite();
    await admin.admin.revokeInvite({ id: revoked.id });
    expect(await reasonOf(signup({ username: name("u_"), password: password(), invite: revoked.code }))).toBe("invite_invalid");
    const expired = await admin.admin.createInvite();
    await db.invite.update({ where: { id: expired.id }, data: { expiresAt: new Date(Date.now() - 1000) } });
    expect(await reasonOf(signup({ username: name("u_"), password: password(), invite: expired.code }))).toBe("invite_invalid");

    const listed = await admin.admin.listInvites();
    expect(listed.find((i) => i.id === invite.id)).toMatchObject({ state: "used", usedByUsername: username });
    expect(listed.find((i) => i.id === revoked.id)).toMatchObject({ state: "revoked" });
    expect(listed.find((i) => i.id === expired.id)).toMatchObject({ state: "expired" });
  });
});

describe("SIGNUP_MODE=closed and open", () => {
  it("closed: nobody signs up, not even with an invitation", async () => {
    const invite = await (await adminCaller()).admin.createInvite();
    await withMode("closed", async () => {
      expect(await (await anonymousCaller()).auth.signupPolicy()).toMatchObject({ mode: "closed" });
      expect(await reasonOf(signup({ username: name("u_"), password: password() }))).toBe("signup_closed");
      expect(await reasonOf(signup({ username: name("u_"), password: password(), invite: invite.code }))).toBe("signup_closed");
    });
  });

  it("open: anyone, up to SIGNUP_MAX_PER_ADDRESS per address per window (configurable)", async () => {
    await withMode("open", async () => {
      const before = env.SIGNUP_MAX_PER_ADDRESS;
      env.SIGNUP_MAX_PER_ADDRESS = 2;
      try {
        const address = newAddress();
        await signup({ username: name("o_"), password: password() }, address);
        await signup({ username: name("o_"), password: password() }, address);
        const error = await rejection(signup({ username: name("o_"), password: password() }, address));
        expect(error.code).toBe("TOO_MANY_REQUESTS");
        expect(error.cause?.details?.retryAfter).toBeLessThanOrEqual(env.SIGNUP_WINDOW_SECONDS);
        await signup({ username: name("o_"), password: password() }, newAddress());
      } finally {
        env.SIGNUP_MAX_PER_ADDRESS = before;
      }
    });
  });
});
