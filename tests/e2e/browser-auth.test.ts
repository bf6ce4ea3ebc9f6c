import { randomBytes, randomInt } from "node:crypto";
import type { Browser, BrowserContext, Page } from "playwright-core";
import superjson from "superjson";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatBytes } from "~/app/_components/format";
import { env } from "~/env";
import { db } from "~/server/db/client";
import { screenshot, startBrowserStack, type BrowserStack } from "../helpers/browser";
import type { Spawned } from "../helpers/processes";
import { createTestUser, deleteCreatedTestUsers, deleteTestUser, uniqueUsername } from "../helpers/users";

// The browser side of accounts, against the production build served by the custom server
// (src/server/main.ts): sign up, the empty drive, sign out, sign in, wrong password, throttling.
// scripts/test.sh builds the app before the suite runs.
//
// The server trusts X-Forwarded-For here (TRUST_PROXY) so the plain-fetch throttling tests can
// use addresses of their own; the browser itself comes from 127.0.0.1. Its per-address limit is
// lowered (SIGNIN_MAX_FAILURES_PER_ADDRESS) so the spray test stays short.

let server: Spawned;
let baseUrl = "";
let browser: Browser;
const signedUpUsernames: string[] = [];

let stack: BrowserStack;
const MAX_PER_ADDRESS = 12;

beforeAll(async () => {
  stack = await startBrowserStack({ TRUST_PROXY: "true", SIGNIN_MAX_FAILURES_PER_ADDRESS: String(MAX_PER_ADDRESS) });
  ({ server, baseUrl, browser } = stack);
}, 150_000);

afterAll(async () => {
  await stack?.stop();
  for (const username of signedUpUsernames) {
    const user = await db.user.findUnique({ where: { username }, select: { id: true } });
    if (user) await deleteTestUser(user.id);
  }
  await deleteCreatedTestUsers();
});

async function newPage(): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ baseURL: baseUrl, viewport: { width: 1200, height: 760 } });
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  return { context, page };
}


async function fillSignIn(page: Page, username: string, password: string) {
  await page.fill('input[name="username"]', username);
  await page.fill('input[name="password"]', password);
  await page.click('button[type="submit"]');
}

/** `auth.signin` over plain HTTP, as a script would call it. */
function signinOverHttp(username: string, password: string, forwardedFor: string) {
  return fetch(`${baseUrl}/api/trpc/auth.signin`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-forwarded-for": forwardedFor },
    body: JSON.stringify(superjson.serialize({ username, password })),
  });
}

const newAddress = () => `198.18.${randomInt(256)}.${randomInt(1, 255)}`;

describe("browser: sign up, sign out, sign in", () => {
  const username = uniqueUsername("e2e_");
  const password = `pw-${randomBytes(9).toString("base64url")}`;

  it("a signed-out visitor of / lands on /signin", async () => {
    const { context, page } = await newPage();
    await page.goto("/");
    await page.waitForURL(/\/signin/);
    await expect.poll(() => page.locator("h1").textContent(), { timeout: 20_000 }).toBe("Sign in");
    await screenshot(page, "signin");
    await context.close();
  });

  it("signs up, lands on the empty drive with the username and quota, signs out, signs in again", async () => {
    const { context, page } = await newPage();
    await page.goto("/signup");
    await page.fill('input[name="username"]', username);
    await page.fill('input[name="password"]', password);
    await page.fill('input[name="confirm"]', password);
    await screenshot(page, "signup");
    await page.click('button[type="submit"]');
    signedUpUsernames.push(username);

    await page.waitForURL(`${baseUrl}/`);
    await expect.poll(() => page.getByTestId("username").textContent(), { timeout: 20_000 }).toBe(username);
    await expect.poll(() => page.getByTestId("empty-drive").textContent(), { timeout: 20_000 }).toContain("Your drive is empty");
    await expect
      .poll(() => page.getByTestId("quota").textContent(), { timeout: 20_000 })
      .toBe(`${formatBytes(0)} of ${formatBytes(env.DEFAULT_QUOTA_BYTES)} used`);
    await screenshot(page, "drive-empty");

    // The cookie is the one resolveActor reads: a tRPC call made with it is this user.
    const cookies = await context.cookies();
    const session = cookies.find((c) => c.name === "next-auth.session-token");
    expect(session?.httpOnly).toBe(true);
    const cookieHeader = `next-auth.session-token=${session!.value}`;
    const meResponse = await fetch(`${baseUrl}/api/trpc/user.me`, { headers: { cookie: cookieHeader } });
    expect(meResponse.status).toBe(200);
    const me = superjson.deserialize<{ username: string }>(((await meResponse.json()) as { result: { data: never } }).result.data);
    expect(me.username).toBe(username);

    await page.click("text=Sign out");
    await page.waitForURL(/\/signin/);
    await page.goto("/");
    await page.waitForURL(/\/signin/);
    // Signing out revoked the sign-in server-side: the old cookie no longer works either.
    const afterSignout = await fetch(`${baseUrl}/api/trpc/user.me`, { headers: { cookie: cookieHeader } });
    expect(afterSignout.status).toBe(401);

    await fillSignIn(page, username, password);
    await page.waitForURL(`${baseUrl}/`);
    await expect.poll(() => page.getByTestId("username").textContent(), { timeout: 20_000 }).toBe(username);
    await context.close();
  });

  it("a wrong password shows an error and stays on /signin", async () => {
    const { context, page } = await newPage();
    await page.goto("/signin");
    await fillSignIn(page, username, "definitely-not-it");
    await expect.poll(() => page.getByTestId("form-error").textContent(), { timeout: 20_000 }).toBe("Wrong username or password.");
    expect(new URL(page.url()).pathname).toBe("/signin");
    await screenshot(page, "signin-wrong-password");
    await context.close();
  });

  it("a taken username and a short password are explained on /signup", async () => {
    const { context, page } = await newPage();
    await page.goto("/signup");
    await page.fill('input[name="username"]', username.toUpperCase());
    await page.fill('input[name="password"]', "long enough password");
    await page.fill('input[name="confirm"]', "long enough password");
    await page.click('button[type="submit"]');
    await expect.poll(() => page.getByTestId("username-error").textContent(), { timeout: 20_000 }).toBe("That username is taken.");

    await page.fill('input[name="username"]', uniqueUsername("e2e_"));
    await page.fill('input[name="password"]', "short");
    await page.fill('input[name="confirm"]', "short");
    await page.click('button[type="submit"]');
    await expect.poll(() => page.getByTestId("password-error").textContent(), { timeout: 20_000 }).toBe("Passwords are 8 to 128 characters.");
    await screenshot(page, "signup-errors");
    await context.close();
  });

  it("a throttled username is told when to come back", async () => {
    const user = await createTestUser();
    // failures for this username from the browser's own address (the custom server sees 127.0.0.1)
    for (let i = 0; i < env.SIGNIN_MAX_FAILURES; i++) {
      expect((await signinOverHttp(user.username, "wrong password", "127.0.0.1")).status).toBe(401);
    }
    const { context, page } = await newPage();
    await page.goto("/signin");
    await fillSignIn(page, user.username, user.password);
    await expect.poll(() => page.getByTestId("form-error").textContent(), { timeout: 20_000 }).toContain("Too many failed sign-ins. Try again in");
    await screenshot(page, "signin-throttled");
    await context.close();
  });
});

describe("browser: the drive lists the root folder", () => {
  it("shows the user's folders, and only theirs", async () => {
    const user = await createTestUser();
    const stranger = await createTestUser();
    await user.caller.file.mkdir({ name: "Photos" });
    await user.caller.file.mkdir({ name: "Documents" });
    await stranger.caller.file.mkdir({ name: "Not yours" });

    const { context, page } = await newPage();
    await page.goto("/signin");
    await fillSignIn(page, user.username, user.password);
    await page.waitForURL(`${baseUrl}/`);
    await page.getByTestId("listing").waitFor();
    expect(await page.locator('[data-testid="entry"] .entry-name').allTextContents()).toEqual(["Documents", "Photos"]);
    await screenshot(page, "drive-listing");
    await context.close();
  });
});

describe("plain HTTP: sign-in throttling", () => {
  it("per username + address: the sign-in after SIGNIN_MAX_FAILURES failures is HTTP 429 with Retry-After", async () => {
    const user = await createTestUser();
    const address = newAddress();
    const statuses: number[] = [];
    for (let i = 0; i <= env.SIGNIN_MAX_FAILURES; i++) {
      statuses.push((await signinOverHttp(user.username, "wrong password", address)).status);
    }
    expect(statuses).toEqual([...Array(env.SIGNIN_MAX_FAILURES).fill(401), 429]);

    const response = await signinOverHttp(user.username, user.password, address);
    expect(response.status).toBe(429);
    const retryAfter = Number(response.headers.get("retry-after"));
    expect(Number.isInteger(retryAfter)).toBe(true);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(env.SIGNIN_WINDOW_SECONDS);
    const body = (await response.json()) as { error: { json: { data: { code: string } } } };
    expect(body.error.json.data.code).toBe("TOO_MANY_REQUESTS");
    // the same person from another address, and someone else from this one, are not affected
    expect((await signinOverHttp(user.username, user.password, newAddress())).status).toBe(200);
    const colleague = await createTestUser();
    expect((await signinOverHttp(colleague.username, colleague.password, address)).status).toBe(200);
  });

  it("per address: failures against many usernames throttle that address at SIGNIN_MAX_FAILURES_PER_ADDRESS", async () => {
    const address = newAddress();
    for (let i = 0; i < MAX_PER_ADDRESS; i++) {
      expect((await signinOverHttp(uniqueUsername("nobody_"), "wrong password", address)).status).toBe(401);
    }
    const user = await createTestUser();
    const throttled = await signinOverHttp(user.username, user.password, address);
    expect(throttled.status).toBe(429);
    expect(Number(throttled.headers.get("retry-after"))).toBeGreaterThan(0);
    expect((await signinOverHttp(user.username, user.password, newAddress())).status).toBe(200);
  });
});

describe("server log", () => {
  it("the flows above logged no next-auth or tRPC errors", () => {
    expect(server.output()).not.toMatch(/\[next-auth\]|\[trpc\]|\[web\] (next|raw route) failed/);
  });
});
