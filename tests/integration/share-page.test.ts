import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bytes, cleanupDriveUsers, putFile } from "../helpers/drive-files";
import { startBrowserStack, type BrowserStack } from "../helpers/browser";
import { createTestUser, type TestUser } from "../helpers/users";

// The public share page /s/{token} in a real browser, signed out, against the production build
// served by the custom server (scripts/test.sh builds before the suite): a file link, a password-
// protected folder link with browsing and downloads, and a dead link.

let baseUrl = "";
let browser: Browser;
const users: TestUser[] = [];

let stack: BrowserStack;

beforeAll(async () => {
  stack = await startBrowserStack();
  ({ baseUrl, browser } = stack);
}, 150_000);

afterAll(async () => {
  await stack?.stop();
  await cleanupDriveUsers(users);
});

async function signedOutPage(): Promise<Page> {
  const context = await browser.newContext({ baseURL: baseUrl, acceptDownloads: true });
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  return page;
}

async function downloaded(page: Page, click: () => Promise<void>): Promise<{ name: string; data: Buffer }> {
  const [download] = await Promise.all([page.waitForEvent("download"), click()]);
  const stream = await download.createReadStream();
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c as Buffer));
  return { name: download.suggestedFilename(), data: Buffer.concat(chunks) };
}

describe("share page, signed out", () => {
  it("shows a shared file with its size and downloads it under its name", async () => {
    const owner = await createTestUser();
    users.push(owner);
    const data = bytes(3000, 501);
    const f = await putFile(owner, { name: "Quarterly report é.pdf", data, mime: "application/pdf" });
    const { url } = await owner.caller.share.create({ id: f.id });
    const page = await signedOutPage();
    await page.goto(url);
    await page.getByTestId("share-name").waitFor();
    expect(await page.getByTestId("share-name").textContent()).toBe("Quarterly report é.pdf");
    expect(await page.textContent("main")).toContain("2.93 KB");
    expect(await page.textContent("main")).toContain(`Shared by ${owner.username}`);
    const got = await downloaded(page, () => page.getByRole("link", { name: "Download" }).click());
    expect(got.name).toBe("Quarterly report é.pdf");
    expect(got.data.equals(data)).toBe(true);
  });

  it("asks for the password of a folder link, then browses and downloads inside it", async () => {
    const owner = await createTestUser();
    users.push(owner);
    const album = await owner.caller.file.mkdir({ name: "Holiday" });
    const day1 = await owner.caller.file.mkdir({ name: "Day 1", parentId: album.id });
    const photo = bytes(5000, 502);
    await putFile(owner, { name: "beach.jpg", data: photo, parentId: day1.id, mime: "image/jpeg" });
    await putFile(owner, { name: "notes.txt", data: "notes", parentId: album.id, mime: "text/plain" });
    const { url } = await owner.caller.share.create({ id: album.id, password: "sunny days" });

    const page = await signedOutPage();
    await page.goto(url);
    await page.getByTestId("share-password").fill("cloudy days");
    await page.getByRole("button", { name: "Open" }).click();
    await page.getByTestId("share-error").waitFor();
    expect(await page.getByTestId("share-error").textContent()).toContain("Wrong password");

    await page.getByTestId("share-password").fill("sunny days");
    await page.getByRole("button", { name: "Open" }).click();
    await page.getByTestId("share-items").waitFor();
    expect(await page.getByTestId("share-items").innerText()).toMatch(/Day 1[\s\S]*notes\.txt/);

    await page.getByRole("button", { name: /Day 1/ }).click();
    await page.waitForFunction(() => document.querySelector("[data-testid=share-name]")?.textContent === "Day 1");
    expect(await page.locator("nav").innerText()).toMatch(/Holiday\s*\/\s*Day 1/);
    const got = await downloaded(page, () => page.getByRole("link", { name: "Download" }).click());
    expect(got.name).toBe("beach.jpg");
    expect(got.data.equals(photo)).toBe(true);

    // back up through the breadcrumbs; a reload keeps the unlock (cookie), no password asked
    await page.getByRole("button", { name: "Holiday" }).click();
    await page.waitForFunction(() => document.querySelector("[data-testid=share-name]")?.textContent === "Holiday");
    await page.reload();
    await page.getByTestId("share-items").waitFor();
  });

  it("says so when a link is dead", async () => {
    const page = await signedOutPage();
    await page.goto(`/s/${"x".repeat(43)}`);
    await page.getByRole("heading", { name: "Link unavailable" }).waitFor();
    expect(await page.textContent("main")).toContain("does not exist or has expired");
  });
});
