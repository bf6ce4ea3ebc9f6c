import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { Download, Locator, Page, Request } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatBytes } from "~/app/_components/format";
import { db } from "~/server/db/client";
import { bulkEntries, cleanupDriveUsers, sha256hex } from "../helpers/drive-files";
import { screenshot, signInThroughForm, startBrowserStack, type BrowserStack } from "../helpers/browser";
import { createTestUser, type TestUser } from "../helpers/users";

// The drive page in a real Chromium against the production build (scripts/test.sh builds first):
// folders and breadcrumbs, chunked uploads through the page (hash, init, parallel PUTs, complete),
// 秒传 of content the server already holds, rename, move, search, download, trash and restore, a
// share link opened signed out and the shared-links page, the quota meter; then resume after a
// reload, cancel, a quota error, sorting and paging. Screenshots go to tests/e2e/screenshots.

const MiB = 1024 * 1024;

let stack: BrowserStack;
let tmp = "";
const users: TestUser[] = [];

beforeAll(async () => {
  stack = await startBrowserStack();
  tmp = await mkdtemp(path.join(os.tmpdir(), "fs-browser-drive-"));
}, 150_000);

afterAll(async () => {
  await stack?.stop();
  await cleanupDriveUsers(users);
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

async function newUser(opts: { quotaBytes?: number } = {}): Promise<TestUser> {
  const user = await createTestUser(opts);
  users.push(user);
  return user;
}

/** A file on disk for the file chooser. */
async function localFile(name: string, data: Buffer): Promise<string> {
  const dir = await mkdtemp(path.join(tmp, "f-"));
  const file = path.join(dir, name);
  await writeFile(file, data);
  return file;
}

/** Chunk PUTs the page sends (PUT /api/uploads/{id}/chunks/{index}). */
function chunkPuts(page: Page): Request[] {
  const puts: Request[] = [];
  page.on("request", (r) => {
    if (r.method() === "PUT" && /\/api\/uploads\/[^/]+\/chunks\/\d+$/.test(new URL(r.url()).pathname)) puts.push(r);
  });
  return puts;
}

const entryRow = (page: Page, name: string): Locator =>
  page.locator('[data-testid="entry"]').filter({ has: page.locator(".entry-name", { hasText: new RegExp(`^${escapeRegExp(name)}$`) }) });

const uploadRow = (page: Page, name: string): Locator =>
  page.locator('[data-testid="upload-row"]').filter({ has: page.locator(".upload-name", { hasText: new RegExp(`^${escapeRegExp(name)}$`) }) });

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

async function entryNames(page: Page): Promise<string[]> {
  return page.locator('[data-testid="entry"] .entry-name').allTextContents();
}

async function quotaText(user: TestUser): Promise<string> {
  const me = await user.caller.user.me();
  return `${formatBytes(me.usedBytes)} of ${formatBytes(me.quotaBytes)} used`;
}

async function expectQuotaShown(page: Page, user: TestUser): Promise<void> {
  await expect.poll(async () => (await page.getByTestId("quota").textContent()) === (await quotaText(user)), { timeout: 20_000 }).toBe(true);
}

async function downloadedBytes(download: Download): Promise<Buffer> {
  const stream = await download.createReadStream();
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(Buffer.from(part as Buffer));
  return Buffer.concat(parts);
}

/** A file put into the drive over the chunked protocol with the user's bearer token, as a script would. */
async function putFile(user: TestUser, name: string, data: Buffer, parentId?: string): Promise<{ id: string; name: string }> {
  const init = await user.caller.upload.init({ name, size: data.length, parentId });
  if (!("chunkSize" in init)) throw new Error("unexpected 秒传 answer");
  for (let i = 0; i < init.chunkCount; i++) {
    const body = new Uint8Array(data.subarray(i * init.chunkSize, (i + 1) * init.chunkSize));
    const response = await fetch(`${stack.baseUrl}/api/uploads/${init.uploadId}/chunks/${i}`, {
      method: "PUT",
      headers: { ...user.authHeaders, "content-type": "application/octet-stream" },
      body,
    });
    expect(response.status).toBe(200);
  }
  return (await user.caller.upload.complete({ uploadId: init.uploadId })).file;
}

async function upload(page: Page, file: string): Promise<void> {
  await page.getByTestId("file-input").setInputFiles(file);
}

async function waitUploadDone(page: Page, name: string): Promise<Locator> {
  const row = uploadRow(page, name).last();
  await expect.poll(() => row.getAttribute("data-state"), { timeout: 60_000 }).toMatch(/done|error/);
  if ((await row.getAttribute("data-state")) === "error") throw new Error(`upload failed: ${await row.innerText()}`);
  return row;
}

describe("browser: the drive, end to end", () => {
  let user: TestUser;
  let page: Page;
  let puts: Request[];
  const folderName = "照片 Photos 2024";
  const fileName = "季度报告 Quarterly report — a rather long file name that keeps going to check how the listing copes.bin";
  const renamed = "年度总结 annual summary.bin";
  const content = randomBytes(5 * MiB + 12_345);
  let folderId = "";

  beforeAll(async () => {
    user = await newUser();
    page = (await stack.newPage()).page;
    puts = chunkPuts(page);
  });

  afterAll(async () => {
    await page?.context().close();
  });

  it("signs in and shows the empty drive with the quota meter", async () => {
    await signInThroughForm(page, stack.baseUrl, user);
    await page.getByTestId("empty-drive").waitFor();
    expect(await page.getByTestId("empty-drive").textContent()).toContain("Your drive is empty");
    await expectQuotaShown(page, user);
    await screenshot(page, "drive-01-empty");
  });

  it("creates a folder, refuses a second one of the same name", async () => {
    await page.getByTestId("new-folder").click();
    await page.getByLabel("Folder name").fill(folderName);
    await page.getByLabel("Folder name").press("Enter");
    await entryRow(page, folderName).waitFor();
    await page.getByTestId("new-folder-form").waitFor({ state: "detached" });

    await page.getByTestId("new-folder").click();
    await page.getByLabel("Folder name").fill(folderName);
    await page.getByRole("button", { name: "Create" }).click();
    await expect
      .poll(() => page.getByTestId("new-folder-error").textContent())
      .toBe(`“${folderName}” already exists in this folder.`);
    await screenshot(page, "drive-02-folder-conflict");
    await page.getByRole("button", { name: "Cancel" }).click();
    expect(await entryNames(page)).toEqual([folderName]);
  });

  it("opens the folder (?folder=<id>) and comes back through the breadcrumbs", async () => {
    await entryRow(page, folderName).locator("a.entry-name").click();
    await page.waitForURL(/\/\?folder=/);
    folderId = new URL(page.url()).searchParams.get("folder")!;
    const folder = await db.entry.findFirst({ where: { ownerId: user.actor.userId, name: folderName } });
    expect(folderId).toBe(folder!.id);
    await expect.poll(() => page.getByTestId("breadcrumbs").innerText()).toMatch(new RegExp(`My drive\\s*${escapeRegExp(folderName)}`));
    await page.getByTestId("empty-drive").waitFor();
    expect(await page.getByTestId("empty-drive").textContent()).toContain("This folder is empty");
    await screenshot(page, "drive-03-empty-folder");

    await page.getByTestId("breadcrumbs").getByRole("link", { name: "My drive" }).click();
    await page.waitForURL(`${stack.baseUrl}/`);
    await entryRow(page, folderName).waitFor();
    await page.goBack();
    await page.waitForURL(/\/\?folder=/);
    await page.getByTestId("empty-drive").waitFor();
  });

  it("uploads a file in chunks through the page and lists it; the quota meter follows", async () => {
    const file = await localFile(fileName, content);
    const before = puts.length;
    await upload(page, file);
    // the panel shows progress while it runs
    await uploadRow(page, fileName).waitFor();
    const row = await waitUploadDone(page, fileName);
    expect(await row.getAttribute("data-instant")).toBeNull();

    const session = await db.uploadSession.findFirst({ where: { ownerId: user.actor.userId, name: fileName }, orderBy: { createdAt: "desc" } });
    expect(session!.state).toBe("completed");
    expect(session!.chunkCount).toBeGreaterThanOrEqual(3);
    expect(session!.claimedSha256).toBe(sha256hex(content));
    expect(puts.length - before).toBe(session!.chunkCount);

    await entryRow(page, fileName).waitFor();
    expect(await entryRow(page, fileName).getByTestId("entry-size").textContent()).toBe(formatBytes(content.length));
    const entry = await db.entry.findFirst({ where: { ownerId: user.actor.userId, name: fileName }, include: { blob: true } });
    expect(entry!.parentId).toBe(folderId);
    expect(entry!.blob!.sha256).toBe(sha256hex(content));
    await expectQuotaShown(page, user);
    // Once the listing and the quota meter caught up with the finished upload.
    await screenshot(page, "drive-04-uploaded");
    expect((await user.caller.user.me()).usedBytes).toBe(content.length);
  });

  it("uploads the same content again: 秒传, no chunk sent, named “name (1)”", async () => {
    await page.getByRole("button", { name: "Clear finished" }).click();
    // The finished row of the first upload must be gone, or it would be taken for this one.
    await uploadRow(page, fileName).waitFor({ state: "detached" });
    const before = puts.length;
    await upload(page, await localFile(fileName, content));
    const row = await waitUploadDone(page, fileName);
    expect(await row.getAttribute("data-instant")).toBe("true");
    expect(await row.getByTestId("upload-status").textContent()).toContain("Instant");
    expect(puts.length - before).toBe(0);
    const copyName = fileName.replace(/\.bin$/, " (1).bin");
    await entryRow(page, copyName).waitFor();
    await screenshot(page, "drive-05-instant-upload");
    await expectQuotaShown(page, user);
    expect((await user.caller.user.me()).usedBytes).toBe(2 * content.length);

    // the copy goes to the trash through the multi-select bar, with a confirmation
    await entryRow(page, copyName).getByRole("checkbox").check();
    await page.getByTestId("selection-bar").waitFor();
    await page.getByTestId("delete-selected").click();
    await page.getByTestId("confirm-dialog").waitFor();
    await page.getByTestId("confirm").click();
    await entryRow(page, copyName).waitFor({ state: "detached" });
  });

  it("renames the file in place; a taken name is explained", async () => {
    await page.getByRole("button", { name: "Clear finished" }).click();
    await page.getByTestId("new-folder").click();
    await page.getByLabel("Folder name").fill("taken");
    await page.getByLabel("Folder name").press("Enter");
    await entryRow(page, "taken").waitFor();

    await entryRow(page, fileName).getByTestId("rename").click();
    const input = page.getByTestId("rename-form").getByLabel("New name");
    await input.fill("taken");
    await input.press("Enter");
    await expect.poll(() => page.getByTestId("rename-error").textContent()).toBe("“taken” already exists in this folder.");
    await screenshot(page, "drive-06-rename-conflict");
    await input.fill(renamed);
    await input.press("Enter");
    await entryRow(page, renamed).waitFor();
    await page.getByTestId("rename-form").waitFor({ state: "detached" });
    expect(await entryNames(page)).toEqual(["taken", renamed]);
  });

  it("search finds the file from the root, across folders", async () => {
    await page.goto("/");
    await entryRow(page, folderName).waitFor();
    await page.getByTestId("search").fill("年度");
    await expect.poll(() => entryNames(page)).toEqual([renamed]);
    expect(await page.locator("h1.crumbs").textContent()).toContain("Results for");
    await screenshot(page, "drive-07-search");
    await page.getByTestId("search").fill("no such thing at all");
    await page.getByTestId("empty-search").waitFor();
    await page.getByTestId("search").fill("年度");
    await expect.poll(() => entryNames(page)).toEqual([renamed]);
    // "show in folder" goes to the folder that holds it
    await entryRow(page, renamed).getByRole("button", { name: "Show in folder" }).click();
    await page.waitForURL(new RegExp(`folder=${folderId}`));
    await entryRow(page, renamed).waitFor();
  });

  it("downloads the right bytes under the file's name", async () => {
    const [download] = await Promise.all([page.waitForEvent("download"), entryRow(page, renamed).getByTestId("download").click()]);
    expect(download.suggestedFilename()).toBe(renamed);
    const data = await downloadedBytes(download);
    expect(data.length).toBe(content.length);
    expect(data.equals(content)).toBe(true);
  });

  it("moves the file to the trash with a confirmation, and restores it from /trash", async () => {
    await entryRow(page, renamed).getByTestId("delete").click();
    await page.getByTestId("confirm-dialog").waitFor();
    await screenshot(page, "drive-08-confirm-delete");
    await page.getByTestId("confirm").click();
    await entryRow(page, renamed).waitFor({ state: "detached" });

    await page.getByRole("link", { name: "Trash" }).click();
    await page.waitForURL(/\/trash$/);
    const trashed = page.locator('[data-testid="trash-entry"]').filter({ hasText: renamed });
    await trashed.waitFor();
    await screenshot(page, "drive-09-trash");
    await trashed.getByTestId("restore").click();
    await trashed.waitFor({ state: "detached" });

    await page.goto(`/?folder=${folderId}`);
    await entryRow(page, renamed).waitFor();
  });

  it("shares the file with a password; the link opens signed out; /shared counts the download and revokes", async () => {
    await entryRow(page, renamed).getByTestId("share").click();
    const dialog = page.getByTestId("share-dialog");
    await dialog.waitFor();
    await dialog.getByTestId("share-password").fill("open sesame");
    await dialog.getByTestId("share-limit").fill("5");
    await dialog.getByTestId("share-expires").selectOption("7");
    await dialog.getByTestId("share-create").click();
    await expect.poll(() => dialog.getByTestId("share-url").inputValue()).toMatch(/\/s\/[A-Za-z0-9_-]{22,}$/);
    const url = await dialog.getByTestId("share-url").inputValue();
    expect(url.startsWith(stack.baseUrl)).toBe(true);
    await screenshot(page, "drive-10-share-dialog");
    await dialog.getByRole("button", { name: "Done" }).click();

    const visitor = await stack.newPage();
    await visitor.page.goto(url);
    await visitor.page.getByTestId("share-password").fill("open sesame");
    await visitor.page.getByRole("button", { name: "Open" }).click();
    await visitor.page.getByTestId("share-name").waitFor();
    expect(await visitor.page.getByTestId("share-name").textContent()).toBe(renamed);
    const [download] = await Promise.all([visitor.page.waitForEvent("download"), visitor.page.getByRole("link", { name: "Download" }).click()]);
    expect((await downloadedBytes(download)).equals(content)).toBe(true);
    await screenshot(visitor.page, "drive-11-share-signed-out");

    await page.getByRole("link", { name: "Shared links" }).click();
    await page.waitForURL(/\/shared$/);
    const link = page.locator('[data-testid="share-entry"]').filter({ hasText: renamed });
    await link.waitFor();
    await expect.poll(() => link.locator("td.num").textContent()).toBe("1 / 5");
    expect(await link.innerText()).toContain("password");
    await screenshot(page, "drive-12-shared-links");
    await link.getByTestId("revoke").click();
    await page.getByTestId("confirm").click();
    await page.getByTestId("empty-shares").waitFor();

    await visitor.page.reload();
    await expect.poll(() => visitor.page.textContent("main")).toContain("does not exist or has expired");
    await visitor.context.close();
  });

  it("moves the file into another folder with the folder picker", async () => {
    await user.caller.file.mkdir({ name: "Archive" });
    await page.goto(`/?folder=${folderId}`);
    await entryRow(page, renamed).getByTestId("move").click();
    const dialog = page.getByTestId("move-dialog");
    await dialog.waitFor();
    // the picker starts at the root; "Move here" is off where the file already is
    await dialog.getByTestId("move-folder").filter({ hasText: folderName }).click();
    await dialog.getByTestId("move-folder").filter({ hasText: "taken" }).waitFor();
    expect(await dialog.getByTestId("move-here").isDisabled()).toBe(true);
    await dialog.getByRole("button", { name: "My drive" }).click();
    await dialog.getByTestId("move-folder").filter({ hasText: "Archive" }).click();
    await dialog.getByText("No folders here").waitFor();
    expect(await dialog.getByTestId("move-here").isDisabled()).toBe(false);
    await screenshot(page, "drive-13-move-dialog");
    await dialog.getByTestId("move-here").click();
    await dialog.waitFor({ state: "detached" });
    await entryRow(page, renamed).waitFor({ state: "detached" });
    expect(await entryNames(page)).toEqual(["taken"]);

    await page.goto("/");
    await expect.poll(() => entryNames(page)).toEqual(["Archive", folderName]);
    await entryRow(page, "Archive").locator("a.entry-name").click();
    await entryRow(page, renamed).waitFor();
    await expect.poll(() => page.getByTestId("breadcrumbs").innerText()).toMatch(/My drive\s*Archive/);
    await screenshot(page, "drive-14-moved");
  });

  it("deleting and emptying the trash gives the space back on the quota meter", async () => {
    await page.goto("/");
    await entryRow(page, "Archive").waitFor();
    await page.locator('[data-testid="listing"] thead input[type="checkbox"]').check();
    await page.getByTestId("delete-selected").click();
    await page.getByTestId("confirm").click();
    await page.getByTestId("empty-drive").waitFor();
    await page.getByRole("link", { name: "Trash" }).click();
    await page.locator('[data-testid="trash-entry"]').first().waitFor();
    await page.getByTestId("empty-trash").click();
    await page.getByTestId("confirm").click();
    await page.getByTestId("empty-trash-state").waitFor();
    await expect.poll(async () => (await user.caller.user.me()).usedBytes, { timeout: 20_000 }).toBe(0);
    await expectQuotaShown(page, user);
    expect(await page.getByTestId("quota").textContent()).toMatch(/^0 B of /);
    await screenshot(page, "drive-15-trash-empty");
  });
});

describe("browser: uploads that stop", () => {
  it("an upload cut off by the network resumes after a reload by picking the file again", async () => {
    const user = await newUser();
    const { context, page } = await stack.newPage();
    const puts = chunkPuts(page);
    await signInThroughForm(page, stack.baseUrl, user);
    const data = randomBytes(4 * MiB + 777);
    const name = "resumable 断点续传.dat";
    const file = await localFile(name, data);

    // chunks 2 and up never reach the server
    await page.route(/\/api\/uploads\/[^/]+\/chunks\/\d+$/, (route) =>
      Number(route.request().url().split("/").pop()) >= 2 ? route.abort("connectionreset") : route.continue(),
    );
    await upload(page, file);
    const row = uploadRow(page, name);
    await expect.poll(() => row.getAttribute("data-state"), { timeout: 60_000 }).toBe("error");
    expect(await row.getByTestId("upload-error").textContent()).toContain("Network error");
    await screenshot(page, "drive-16-upload-failed");
    await page.unroute(/\/api\/uploads\/[^/]+\/chunks\/\d+$/);

    await page.reload();
    const pending = page.getByTestId("pending-upload").filter({ hasText: name });
    await pending.waitFor();
    expect(await pending.innerText()).toContain(`${formatBytes(2 * MiB)} of ${formatBytes(data.length)}`);
    await screenshot(page, "drive-17-pending-upload");
    const before = puts.length;
    const [chooser] = await Promise.all([page.waitForEvent("filechooser"), pending.getByTestId("resume-upload").click()]);
    await chooser.setFiles(file);
    await waitUploadDone(page, name);
    expect(puts.length - before).toBe(3); // chunks 2, 3 and 4 of 1 MiB; 0 and 1 were kept
    await entryRow(page, name).waitFor();
    await page.getByTestId("pending-uploads").waitFor({ state: "detached" });
    const entry = await db.entry.findFirst({ where: { ownerId: user.actor.userId, name }, include: { blob: true } });
    expect(entry!.blob!.sha256).toBe(sha256hex(data));
    await context.close();
  });

  it("cancel aborts the session and frees the reserved space", async () => {
    const user = await newUser();
    const { context, page } = await stack.newPage();
    await signInThroughForm(page, stack.baseUrl, user);
    // chunks hang: the upload stays in flight until cancelled
    await page.route(/\/api\/uploads\/[^/]+\/chunks\/\d+$/, () => undefined);
    const name = "never finishes.bin";
    await upload(page, await localFile(name, randomBytes(3 * MiB)));
    const row = uploadRow(page, name);
    await expect.poll(() => row.getAttribute("data-state"), { timeout: 30_000 }).toBe("uploading");
    await expect.poll(async () => (await user.caller.upload.pending()).length).toBe(1);
    await screenshot(page, "drive-18-uploading");
    await row.getByTestId("cancel-upload").click();
    await expect.poll(() => row.getAttribute("data-state")).toBe("cancelled");
    await expect.poll(async () => (await user.caller.upload.pending()).length).toBe(0);
    expect((await user.caller.user.me()).usedBytes).toBe(0);
    await context.close();
  });

  it("a file bigger than the space left is refused with a clear message", async () => {
    const user = await newUser({ quotaBytes: 2 * MiB });
    const { context, page } = await stack.newPage();
    await signInThroughForm(page, stack.baseUrl, user);
    const name = "too big.iso";
    await upload(page, await localFile(name, randomBytes(3 * MiB)));
    const row = uploadRow(page, name);
    await expect.poll(() => row.getAttribute("data-state"), { timeout: 30_000 }).toBe("error");
    expect(await row.getByTestId("upload-error").textContent()).toContain("Not enough space in your drive");
    await screenshot(page, "drive-19-quota-error");
    expect(await user.caller.upload.pending()).toEqual([]);
    await context.close();
  });
});

describe("browser: 秒传 refused", () => {
  it("a wrong proof falls back to sending the chunks", async () => {
    const user = await newUser();
    const data = randomBytes(3 * MiB + 5);
    await putFile(user, "original.bin", data);
    const { context, page } = await stack.newPage();
    const puts = chunkPuts(page);
    await signInThroughForm(page, stack.baseUrl, user);
    // the page's proof is swapped for a wrong one on the way to the server
    let proofs = 0;
    await page.route(/\/api\/trpc\/[^?]*upload\.prove/, async (route) => {
      proofs++;
      const body = route.request().postData()!.replace(/"proof":"[0-9a-f]{64}"/, `"proof":"${"0".repeat(64)}"`);
      await route.continue({ postData: body });
    });
    const name = "copy of original.bin";
    await upload(page, await localFile(name, data));
    const row = await waitUploadDone(page, name);
    expect(proofs).toBe(1);
    expect(await row.getAttribute("data-instant")).toBeNull();
    const session = await db.uploadSession.findFirst({ where: { ownerId: user.actor.userId, name }, orderBy: { createdAt: "desc" } });
    expect(session!.state).toBe("completed");
    expect(puts.length).toBe(session!.chunkCount);
    await entryRow(page, name).waitFor();
    await context.close();
  });
});

describe("browser: uploads keep going across pages", () => {
  it("an upload started in the drive finishes while the user looks at the trash", async () => {
    const user = await newUser();
    const { context, page } = await stack.newPage();
    await signInThroughForm(page, stack.baseUrl, user);
    // slow chunks: the upload is still running when the user moves on
    await page.route(/\/api\/uploads\/[^/]+\/chunks\/\d+$/, async (route) => {
      await new Promise((resolve) => setTimeout(resolve, 700));
      await route.continue();
    });
    const name = "在后台上传 background.bin";
    const data = randomBytes(4 * MiB);
    await upload(page, await localFile(name, data));
    await expect.poll(() => uploadRow(page, name).getAttribute("data-state"), { timeout: 30_000 }).toBe("uploading");
    await page.getByRole("link", { name: "Trash" }).click();
    await page.waitForURL(/\/trash$/);
    await page.getByTestId("empty-trash-state").waitFor();
    expect(await uploadRow(page, name).getAttribute("data-state")).toMatch(/uploading|finishing/);
    await screenshot(page, "drive-25-upload-on-trash-page");
    await waitUploadDone(page, name);
    await page.getByRole("link", { name: "My drive" }).click();
    await entryRow(page, name).waitFor();
    const entry = await db.entry.findFirst({ where: { ownerId: user.actor.userId, name }, include: { blob: true } });
    expect(entry!.blob!.sha256).toBe(sha256hex(data));
    await context.close();
  });
});

describe("browser: drag and drop", () => {
  it("files dropped on the page are uploaded into the folder shown", async () => {
    const user = await newUser();
    const folder = await user.caller.file.mkdir({ name: "Drop here" });
    const { context, page } = await stack.newPage();
    await signInThroughForm(page, stack.baseUrl, user);
    await page.goto(`/?folder=${folder.id}`);
    await page.getByTestId("empty-drive").waitFor();
    const dataTransfer = await page.evaluateHandle(() => {
      const dt = new DataTransfer();
      dt.items.add(new File(["hello from a drop\n"], "dropped note.txt", { type: "text/plain" }));
      dt.items.add(new File([new Uint8Array(2 * 1024 * 1024).fill(7)], "dropped 二进制.bin"));
      return dt;
    });
    await page.dispatchEvent('[data-testid="dropzone"]', "dragover", { dataTransfer });
    await page.locator(".drop-hint").waitFor();
    await screenshot(page, "drive-24-dragging");
    await page.dispatchEvent('[data-testid="dropzone"]', "drop", { dataTransfer });
    await waitUploadDone(page, "dropped note.txt");
    await waitUploadDone(page, "dropped 二进制.bin");
    await expect.poll(() => entryNames(page)).toEqual(["dropped note.txt", "dropped 二进制.bin"]);
    const listed = await user.caller.file.list({ parentId: folder.id });
    expect(listed.items.map((e) => [e.name, e.size])).toEqual([
      ["dropped note.txt", 18],
      ["dropped 二进制.bin", 2 * 1024 * 1024],
    ]);
    await context.close();
  });
});

describe("browser: sorting and paging", () => {
  it("sorts by size and by name, and loads more entries in pages", async () => {
    const user = await newUser();
    const specs = Array.from({ length: 130 }, (_, i) => ({
      name: `file ${String(i).padStart(3, "0")}.txt`,
      kind: "file" as const,
      size: (i * 7919) % 1000,
    }));
    await bulkEntries(user, null, [{ name: "A folder", kind: "folder" }, ...specs]);
    const { context, page } = await stack.newPage();
    await signInThroughForm(page, stack.baseUrl, user);
    await page.getByTestId("listing").waitFor();
    const first = await entryNames(page);
    expect(first.length).toBe(100);
    expect(first[0]).toBe("A folder");
    expect(first[1]).toBe("file 000.txt");
    await page.getByRole("button", { name: "Show more" }).click();
    await expect.poll(async () => (await entryNames(page)).length).toBe(131);
    await screenshot(page, "drive-20-paged");

    await page.getByRole("button", { name: "Size", exact: true }).click();
    await expect.poll(async () => (await entryNames(page))[1]).toBe(specs.reduce((a, b) => (b.size < a.size ? b : a)).name);
    await page.locator("th button.sort", { hasText: "Size" }).click();
    const bySizeDesc = specs.slice().sort((a, b) => b.size - a.size || a.name.localeCompare(b.name));
    await expect.poll(async () => (await entryNames(page))[1]).toBe(bySizeDesc[0]!.name);
    // folders stay first whatever the order
    expect((await entryNames(page))[0]).toBe("A folder");
    await page.locator("th button.sort", { hasText: "Name" }).click();
    await expect.poll(async () => (await entryNames(page))[1]).toBe("file 000.txt");
    await page.locator("th button.sort", { hasText: "Name" }).click();
    await expect.poll(async () => (await entryNames(page))[1]).toBe("file 129.txt");
    await context.close();
  });
});

describe("browser: narrow window", () => {
  it("the drive, trash and shared links stay within a phone-width screen", async () => {
    const user = await newUser();
    const longFolder = "一个非常非常长的中文文件夹名字，用来检查窄屏幕上的布局是否会溢出 and some more words";
    const longFile = "很长的文件名 a-very-long-file-name-without-any-spaces-that-could-push-the-table-wider-than-the-screen.pdf";
    await user.caller.file.mkdir({ name: longFolder });
    const file = await putFile(user, longFile, randomBytes(70_000));
    const gone = await putFile(user, "已删除 deleted file with a long name as well.txt", randomBytes(500));
    await user.caller.share.create({ id: file.id, password: "secret words", maxDownloads: 3 });
    await user.caller.file.delete({ ids: [gone.id] });

    const { context, page } = await stack.newPage({ width: 390, height: 800 });
    const overflow = () => page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    await signInThroughForm(page, stack.baseUrl, user);
    await entryRow(page, longFile).waitFor();
    await upload(page, await localFile("上传中 uploading from a phone.bin", randomBytes(1000)));
    await waitUploadDone(page, "上传中 uploading from a phone.bin");
    await entryRow(page, "上传中 uploading from a phone.bin").waitFor();
    expect(await overflow()).toBeLessThanOrEqual(0);
    await screenshot(page, "drive-21-narrow");

    await page.getByRole("link", { name: "Trash" }).click();
    await page.locator('[data-testid="trash-entry"]').waitFor();
    expect(await overflow()).toBeLessThanOrEqual(0);
    await screenshot(page, "drive-22-narrow-trash");

    await page.getByRole("link", { name: "Shared links" }).click();
    await page.locator('[data-testid="share-entry"]').waitFor();
    expect(await overflow()).toBeLessThanOrEqual(0);
    await screenshot(page, "drive-23-narrow-shared");
    await context.close();
  });
});

describe("server log", () => {
  it("the flows above logged no tRPC or route errors", () => {
    expect(stack.server.output()).not.toMatch(/\[next-auth\]|\[trpc\]|\[web\] (next|raw route) failed/);
  });
});
