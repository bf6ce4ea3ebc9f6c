import { randomInt } from "node:crypto";
import { afterAll, describe, expect, it, vi } from "vitest";
import { startPrivateRedis } from "../helpers/redis-server";

// Revocation must not depend on Redis keeping its data (issue 14): sign in through the API, sign
// out, then flush Redis, or restart it without persistence, or stop it: the signed-out access token
// stays refused. This file runs the app against a private redis-server of its own (the shared one
// is never flushed), so the app modules are imported after REDIS_URL points at it.

const privateRedis = await startPrivateRedis();
process.env.REDIS_URL = privateRedis.url;

const { trustedAddressHeaders } = await import("~/server/http/client-address");
const { redis } = await import("~/server/redis/client");
const { anonymousCaller, callerFor, createTestUser, deleteCreatedTestUsers } = await import("../helpers/users");

afterAll(async () => {
  await deleteCreatedTestUsers();
  redis.disconnect();
  await privateRedis.stop();
});

const newAddress = () => `10.77.${randomInt(256)}.${randomInt(1, 255)}`;
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

async function meStatus(accessToken: string): Promise<"ok" | string> {
  try {
    await (await callerFor(bearer(accessToken))).user.me();
    return "ok";
  } catch (e) {
    return (e as { code?: string }).code ?? String(e);
  }
}

/** An API sign-in (auth.signin), as a script does it. */
async function apiSignin(user: { username: string; password: string }) {
  return (await anonymousCaller(trustedAddressHeaders(newAddress()))).auth.signin({ username: user.username, password: user.password });
}

describe("revocation survives Redis losing its data", () => {
  it("signed out, then Redis flushed: the access token stays refused, other sign-ins keep working", async () => {
    const user = await createTestUser();
    const signedOut = await apiSignin(user);
    const other = await apiSignin(user);
    expect(await meStatus(signedOut.accessToken)).toBe("ok");

    await (await anonymousCaller()).auth.signout({ refreshToken: signedOut.refreshToken });
    expect(await meStatus(signedOut.accessToken)).toBe("UNAUTHORIZED");

    expect(await privateRedis.cli("FLUSHALL")).toBe("OK");
    expect(await privateRedis.cli("DBSIZE")).toBe("0");
    expect(await meStatus(signedOut.accessToken)).toBe("UNAUTHORIZED");
    await expect((await anonymousCaller()).auth.refresh({ refreshToken: signedOut.refreshToken })).rejects.toMatchObject({
      code: "UNAUTHORIZED",
    });
    expect(await meStatus(other.accessToken)).toBe("ok");
  });

  it("a sign-in revoked by refresh-token reuse stays revoked across a Redis restart without persistence", async () => {
    const user = await createTestUser();
    const signedIn = await apiSignin(user);
    const caller = await anonymousCaller();
    const rotated = await caller.auth.refresh({ refreshToken: signedIn.refreshToken });
    await expect(caller.auth.refresh({ refreshToken: signedIn.refreshToken })).rejects.toMatchObject({ code: "UNAUTHORIZED" });
    expect(await meStatus(rotated.accessToken)).toBe("UNAUTHORIZED");

    await privateRedis.restart();
    expect(await privateRedis.cli("DBSIZE")).toBe("0");
    expect(await meStatus(rotated.accessToken)).toBe("UNAUTHORIZED");
    expect(await meStatus(signedIn.accessToken)).toBe("UNAUTHORIZED");
    // the app's client reconnected: a new sign-in works and is throttled again
    const fresh = await apiSignin(user);
    expect(await meStatus(fresh.accessToken)).toBe("ok");
  });

  it("with Redis stopped: signing out still revokes, sign-in still works (unthrottled), wrong passwords are refused", async () => {
    const user = await createTestUser();
    const signedIn = await apiSignin(user);
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    await privateRedis.kill();
    try {
      await (await anonymousCaller()).auth.signout({ refreshToken: signedIn.refreshToken });
      expect(await meStatus(signedIn.accessToken)).toBe("UNAUTHORIZED");

      await expect(apiSignin({ username: user.username, password: "wrong password" })).rejects.toMatchObject({ code: "UNAUTHORIZED" });
      const during = await apiSignin(user);
      expect(await meStatus(during.accessToken)).toBe("ok");
      expect(warn.mock.calls.some(([line]) => String(line).includes("throttle"))).toBe(true);
    } finally {
      warn.mockRestore();
      await privateRedis.restart();
    }
    expect(await meStatus(signedIn.accessToken)).toBe("UNAUTHORIZED");
  });
});
