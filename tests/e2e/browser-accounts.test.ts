import { randomBytes } from "node:crypto";
import { generate } from "otplib";
import type { Page } from "playwright-core";
import superjson from "superjson";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { db } from "~/server/db/client";
import { screenshot, signInThroughForm, startBrowserStack, type BrowserStack } from "../helpers/browser";
import { codeIn, linkIn, startSmtpSink, type SmtpSink } from "../helpers/smtp";
import { cleanupDriveUsers } from "../helpers/drive-files";
import { createTestUser, deleteTestUser, uniqueUsername, type TestUser } from "../helpers/users";

// Accounts in Chromium against the production build and a real SMTP server in this process:
// email verification, TOTP enrolment (QR code, key, recovery codes) and the sign-in code step,
// forgotten password through the mailed link, password change, the admin page, and sign-up by
// invitation (the server runs with SIGNUP_MODE=invite).

// Several page loads per test, on a machine other test runs share: more than the default minute.
vi.setConfig({ testTimeout: 180_000 });

let stack: BrowserStack;
let smtp: SmtpSink;
const users: TestUser[] = [];
const signedUp: string[] = [];

beforeAll(async () => {
  smtp = await startSmtpSink();
  stack = await startBrowserStack({ TRUST_PROXY: "true", SIGNUP_MODE: "invite", ...smtp.env });
  // The first requests of a fresh server are slow (route code loads on first use): not in a test.
  const { context, page } = await newPage();
  for (const path of ["/signin", "/account", "/admin", "/forgot-password", "/reset-password", "/signup"]) await page.goto(path);
  await context.close();
}, 240_000);

afterAll(async () => {
  await stack?.stop();
  await smtp?.stop();
  await cleanupDriveUsers(users);
  for (const username of signedUp) {
    const user = await db.user.findUnique({ where: { username }, select: { id: true } });
    if (user) await deleteTestUser(user.id);
  }
});

async function user(): Promise<TestUser> {
  const u = await createTestUser();
  users.push(u);
  return u;
}

/** expect.poll with room for a loaded machine (the default gives up after 1 s). */
const poll = <T>(fn: () => T | Promise<T>) => expect.poll(fn, { timeout: 30_000 });

/** A fresh context and page, with timeouts for a shared, loaded machine. */
async function newPage(): ReturnType<BrowserStack["newPage"]> {
  const opened = await stack.newPage();
  opened.page.setDefaultTimeout(60_000);
  return opened;
}

const codeAt = (secret: string, offsetSeconds = 0) => generate({ secret, epoch: Math.floor(Date.now() / 1000) + offsetSeconds });

async function apiSignin(username: string, password: string, otp?: string) {
  const response = await fetch(`${stack.baseUrl}/api/trpc/auth.signin`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-forwarded-for": `198.19.${Math.floor(Math.random() * 250)}.7` },
    body: JSON.stringify(superjson.serialize({ username, password, ...(otp ? { otp } : {}) })),
  });
  return { status: response.status, body: (await response.json()) as { result?: { data: { json: { accessToken: string } } } } };
}

async function meStatus(accessToken: string): Promise<number> {
  return (await fetch(`${stack.baseUrl}/api/trpc/user.me`, { headers: { authorization: `Bearer ${accessToken}` } })).status;
}

async function fillSignin(page: Page, username: string, password: string) {
  await page.goto("/signin");
  await page.fill('input[name="username"]', username);
  await page.fill('input[name="password"]', password);
  await page.click('button[type="submit"]');
}

describe("browser: account settings", () => {
  const state: { user?: TestUser; secret?: string; codes?: string[]; password?: string } = {};

  it("verifies an email address with the code from the mail", async () => {
    const u = (state.user = await user());
    const { context, page } = await newPage();
    await signInThroughForm(page, stack.baseUrl, u);
    await page.getByRole("link", { name: "Account" }).click();
    await page.waitForURL(`${stack.baseUrl}/account`);
    const email = `${u.username}@example.test`;
    await page.getByTestId("email-section").locator('input[name="email"]').fill(email);
    await page.getByRole("button", { name: "Send a code" }).click();
    const mail = await smtp.waitFor((m) => m.to.includes(email));
    await page.locator('input[name="code"]').fill(codeIn(mail));
    await screenshot(page, "account-email-code");
    await page.getByRole("button", { name: "Verify" }).click();
    await poll(() => page.getByTestId("email-done").textContent()).toBe(`${email} is verified.`);
    await poll(() => page.getByTestId("current-email").textContent()).toBe(email);
    await screenshot(page, "account-email-verified");
    await context.close();
  });

  it("turns on two-factor sign-in: password, QR code, a code from the app, recovery codes shown once", async () => {
    const u = state.user!;
    const { context, page } = await newPage();
    await signInThroughForm(page, stack.baseUrl, u);
    await page.goto("/account");
    const section = page.getByTestId("two-factor-section");
    await section.getByRole("button", { name: "Turn on two-factor sign-in" }).click();
    await section.locator('input[name="password"]').fill("not my password");
    await section.getByRole("button", { name: "Continue" }).click();
    await poll(() => page.getByTestId("two-factor-error").textContent()).toBe("That is not your password.");
    await section.locator('input[name="password"]').fill(u.password);
    await section.getByRole("button", { name: "Continue" }).click();

    const qr = page.getByTestId("totp-qr");
    await qr.waitFor();
    // the QR image really rendered (a PNG of a few hundred pixels, not a broken image)
    expect(await qr.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth >= 100)).toBe(true);
    const secret = (state.secret = ((await page.getByTestId("totp-secret").textContent()) ?? "").replace(/\s+/g, ""));
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    await screenshot(page, "totp-enrol");

    await section.locator('input[name="code"]').fill(await codeAt(secret));
    await section.getByRole("button", { name: "Turn on" }).click();
    const codes = page.getByTestId("recovery-codes").locator("li");
    await poll(() => codes.count()).toBe(10);
    state.codes = await codes.allTextContents();
    for (const code of state.codes) expect(code).toMatch(/^[a-z2-9]{5}-[a-z2-9]{5}$/);
    await screenshot(page, "totp-recovery-codes");
    await page.getByRole("button", { name: "I have saved them" }).click();
    await poll(() => page.getByTestId("codes-left").textContent()).toBe("10 recovery codes left.");
    await poll(() => section.locator("h2 span").textContent()).toBe("on");
    // the codes are not shown again
    await page.reload();
    await page.getByTestId("two-factor-section").waitFor();
    expect(await page.getByTestId("recovery-codes").count()).toBe(0);
    await context.close();
  });

  it("sign-in asks for the code after the password; a wrong code is explained; a right one, or a recovery code, signs in", async () => {
    const u = state.user!;
    const { context, page } = await newPage();
    await fillSignin(page, u.username, u.password);
    const step = page.getByTestId("otp-step");
    await step.waitFor();
    await screenshot(page, "signin-otp-step");
    await step.locator('input[name="otp"]').fill("000000");
    await step.locator('button[type="submit"]').click();
    await poll(() => page.getByTestId("form-error").textContent()).toContain("That code is not right");
    // a code of the next time step (the enrolment used the current one)
    await step.locator('input[name="otp"]').fill(await codeAt(state.secret!, 30));
    await step.locator('button[type="submit"]').click();
    await page.waitForURL(`${stack.baseUrl}/`);
    await poll(() => page.getByTestId("username").textContent()).toBe(u.username);
    await context.close();

    const second = await newPage();
    await fillSignin(second.page, u.username, u.password);
    await second.page.getByTestId("otp-step").locator('input[name="otp"]').fill(state.codes![0]!.toUpperCase());
    await second.page.getByTestId("otp-step").locator('button[type="submit"]').click();
    await second.page.waitForURL(`${stack.baseUrl}/`);
    await second.context.close();

    // scripts: the same account through auth.signin needs the code too
    const noCode = await apiSignin(u.username, u.password);
    expect(noCode.status).toBe(401);
    expect(JSON.stringify(noCode.body)).toContain('"reason":"otp_required"');
    expect((await apiSignin(u.username, u.password, state.codes![0])).status).toBe(401); // used up
    expect((await apiSignin(u.username, u.password, state.codes![1])).status).toBe(200);
  });

  it("a forgotten password: link by mail, new password, every sign-in ended, then sign in (with the code)", async () => {
    const u = state.user!;
    const other = await apiSignin(u.username, u.password, state.codes![2]);
    const otherToken = other.body.result!.data.json.accessToken;
    expect(await meStatus(otherToken)).toBe(200);

    const { context, page } = await newPage();
    await page.goto("/signin");
    await page.getByRole("link", { name: "Forgot your password?" }).click();
    await page.waitForURL(`${stack.baseUrl}/forgot-password`);
    await page.fill('input[name="who"]', u.username);
    await page.click('button[type="submit"]');
    await page.getByTestId("reset-requested").waitFor();
    await screenshot(page, "forgot-password-sent");

    const mail = await smtp.waitFor((m) => m.to.includes(`${u.username}@example.test`) && /Reset your/.test(m.subject));
    const link = linkIn(mail);
    await page.goto(`${link.pathname}${link.search}`);
    const password = (state.password = `new-${randomBytes(8).toString("base64url")}`);
    await page.fill('input[name="password"]', password);
    await page.fill('input[name="confirm"]', password);
    await screenshot(page, "reset-password");
    await page.click('button[type="submit"]');
    await page.waitForURL(/\/signin\?reset=done/);
    await poll(() => page.getByTestId("form-notice").textContent()).toContain("Your password was changed");
    expect(await meStatus(otherToken)).toBe(401);

    await fillSignin(page, u.username, password);
    await page.getByTestId("otp-step").locator('input[name="otp"]').fill(state.codes![3]!);
    await page.getByTestId("otp-step").locator('button[type="submit"]').click();
    await page.waitForURL(`${stack.baseUrl}/`);

    // the link worked once
    await page.goto(`${link.pathname}${link.search}`);
    await page.fill('input[name="password"]', "another new password");
    await page.fill('input[name="confirm"]', "another new password");
    await page.click('button[type="submit"]');
    await poll(() => page.getByTestId("form-error").textContent()).toContain("does not work any more");
    await context.close();
  });

  it("changes the password: the wrong current one is refused, other sign-ins end, this one stays", async () => {
    const u = state.user!;
    const other = await apiSignin(u.username, state.password!, state.codes![4]);
    const otherToken = other.body.result!.data.json.accessToken;
    const { context, page } = await newPage();
    await fillSignin(page, u.username, state.password!);
    await page.getByTestId("otp-step").locator('input[name="otp"]').fill(state.codes![5]!);
    await page.getByTestId("otp-step").locator('button[type="submit"]').click();
    await page.waitForURL(`${stack.baseUrl}/`);
    await page.goto("/account");
    const section = page.getByTestId("password-section");
    await section.locator('input[name="current"]').fill("not the password");
    await section.locator('input[name="next"]').fill("a brand new password");
    await section.locator('input[name="confirm"]').fill("a brand new password");
    await section.getByRole("button", { name: "Change password" }).click();
    await poll(() => page.getByTestId("password-error").textContent()).toBe("That is not your current password.");
    await section.locator('input[name="current"]').fill(state.password!);
    await section.locator('input[name="next"]').fill("a brand new password");
    await section.locator('input[name="confirm"]').fill("a brand new password");
    await section.getByRole("button", { name: "Change password" }).click();
    await page.getByTestId("password-done").waitFor();
    await screenshot(page, "account-password-changed");
    expect(await meStatus(otherToken)).toBe(401);
    await page.reload();
    await poll(() => page.getByTestId("username").textContent()).toBe(u.username);
    await context.close();
  });
});

describe("browser: admin page and invitations", () => {
  it("lists accounts, sets a quota, disables (signing the user out) and re-enables", async () => {
    const admin = await user();
    await db.user.update({ where: { id: admin.actor.userId }, data: { role: "admin" } });
    const target = await user();

    const victim = await newPage();
    await signInThroughForm(victim.page, stack.baseUrl, target);

    const { context, page } = await newPage();
    await signInThroughForm(page, stack.baseUrl, admin);
    await page.getByRole("link", { name: "Admin" }).click();
    await page.waitForURL(`${stack.baseUrl}/admin`);
    await page.getByRole("searchbox", { name: "Search accounts" }).fill(target.username);
    const row = page.locator(`[data-testid="admin-user-row"][data-username="${target.username}"]`);
    await row.waitFor();
    expect(await page.getByTestId("admin-user-row").count()).toBe(1);

    await row.getByTestId("edit-quota").click();
    await row.locator('input[name="quota"]').fill("2");
    await row.getByRole("button", { name: "Save" }).click();
    await poll(() => page.getByTestId("admin-done").textContent()).toContain("set to 2 GB");
    await poll(async () => (await db.user.findUniqueOrThrow({ where: { id: target.actor.userId } })).quotaBytes).toBe(2n * 1024n ** 3n);

    // a reset link to hand over to a user without a verified address
    await row.getByRole("button", { name: "reset link" }).click();
    const handedOver = new URL(((await page.getByTestId("admin-reset-link").locator("code").textContent()) ?? "").trim());
    expect(handedOver.pathname).toBe("/reset-password");

    page.once("dialog", (dialog) => void dialog.accept());
    await row.getByRole("button", { name: "Disable" }).click();
    await poll(() => row.textContent()).toContain("disabled");
    await screenshot(page, "admin-users");
    // the disabled user's browser is signed out at the next request
    await victim.page.goto("/");
    await victim.page.waitForURL(/\/signin/);
    await fillSignin(victim.page, target.username, target.password);
    await poll(() => victim.page.getByTestId("form-error").textContent()).toContain("This account is disabled");

    await row.getByRole("button", { name: "Enable" }).click();
    await poll(() => row.textContent()).toContain("active");
    await fillSignin(victim.page, target.username, target.password);
    await victim.page.waitForURL(`${stack.baseUrl}/`);
    await victim.context.close();
    await context.close();
  });

  it("a non-admin sees no Admin link and no admin page", async () => {
    const someone = await user();
    const { context, page } = await newPage();
    await signInThroughForm(page, stack.baseUrl, someone);
    expect(await page.getByRole("link", { name: "Admin" }).count()).toBe(0);
    await page.goto("/admin");
    await page.getByTestId("not-admin").waitFor();
    expect(await page.getByTestId("admin-users").count()).toBe(0);
    await context.close();
  });

  it("SIGNUP_MODE=invite: /signup needs an invitation; the admin's link signs up one account", async () => {
    const anonymous = await newPage();
    await anonymous.page.goto("/signup");
    await anonymous.page.locator('input[name="invite"]').waitFor();
    await anonymous.page.fill('input[name="username"]', uniqueUsername("noinv_"));
    await anonymous.page.fill('input[name="password"]', "long enough password");
    await anonymous.page.fill('input[name="confirm"]', "long enough password");
    await anonymous.page.click('button[type="submit"]');
    await poll(() => anonymous.page.getByTestId("form-error").textContent()).toContain("needs an invitation");
    await anonymous.context.close();

    const admin = await user();
    await db.user.update({ where: { id: admin.actor.userId }, data: { role: "admin" } });
    const { context, page } = await newPage();
    await signInThroughForm(page, stack.baseUrl, admin);
    await page.goto("/admin");
    await page.getByRole("button", { name: "New invitation" }).click();
    const link = new URL(((await page.getByTestId("invite-link").locator("code").textContent()) ?? "").trim());
    await context.close();

    const invited = await newPage();
    await invited.page.goto(`${link.pathname}${link.search}`);
    expect(await invited.page.locator('input[name="invite"]').inputValue()).toBe(link.searchParams.get("invite"));
    const username = uniqueUsername("inv_");
    signedUp.push(username);
    await invited.page.fill('input[name="username"]', username);
    await invited.page.fill('input[name="password"]', "long enough password");
    await invited.page.fill('input[name="confirm"]', "long enough password");
    await screenshot(invited.page, "signup-invited");
    await invited.page.click('button[type="submit"]');
    await invited.page.waitForURL(`${stack.baseUrl}/`);
    await poll(() => invited.page.getByTestId("username").textContent()).toBe(username);
    await invited.context.close();
  });
});

describe("server log", () => {
  it("the flows above logged no next-auth or tRPC errors", () => {
    expect(stack.server.output()).not.toMatch(/\[next-auth\]|\[trpc\]|\[web\] (next|raw route) failed/);
  });
});
