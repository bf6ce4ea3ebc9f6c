import { createHash } from "node:crypto";
import path from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { db } from "~/server/db/client";
import { cleanupDriveUsers } from "../helpers/drive-files";
import { screenshot, signInThroughForm, startBrowserStack, type BrowserStack } from "../helpers/browser";
import { projectRoot } from "../helpers/processes";
import { createTestUser, type TestUser } from "../helpers/users";

// tus from a browser, the way Uppy does it: tus-js-client's browser build (XMLHttpRequest, the
// drive's session cookie, same origin) in a real Chromium against the production build, uploading
// a File to /api/tus. The files must land in the drive with exactly the bytes the page held.

const MiB = 1024 * 1024;

let stack: BrowserStack;
const users: TestUser[] = [];

beforeAll(async () => {
  stack = await startBrowserStack();
}, 150_000);

afterAll(async () => {
  await stack?.stop();
  await cleanupDriveUsers(users);
});

/** The bytes the page builds: byte i is (i·31 + seed) mod 256. */
function pattern(size: number, seed: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = (i * 31 + seed) & 255;
  return b;
}

async function signedInPageWithTus(): Promise<{ page: Page; user: TestUser }> {
  const user = await createTestUser();
  users.push(user);
  const { page } = await stack.newPage();
  await signInThroughForm(page, stack.baseUrl, user);
  await page.addScriptTag({ path: path.join(projectRoot, "node_modules/tus-js-client/dist/tus.min.js") });
  return { page, user };
}

interface PageUpload {
  name: string;
  size: number;
  seed: number;
  chunkSize?: number;
  /** Abort once this share of the bytes was acknowledged, then resume with a new Upload object. */
  abortAt?: number;
}

/** Runs tus.Upload in the page; returns the upload URL and the offset a resumed upload continued from. */
function uploadInPage(page: Page, u: PageUpload): Promise<{ url: string; resumedFrom: number }> {
  return page.evaluate(async (u) => {
    const tus = (window as unknown as { tus: any }).tus;
    const bytes = new Uint8Array(u.size);
    for (let i = 0; i < u.size; i++) bytes[i] = (i * 31 + u.seed) & 255;
    const file = new File([bytes], u.name, { type: "application/octet-stream" });
    const options = {
      endpoint: "/api/tus",
      metadata: { filename: u.name, filetype: file.type },
      chunkSize: u.chunkSize ?? Infinity,
      retryDelays: [0, 500],
    };
    let resumedFrom = 0;
    if (u.abortAt !== undefined) {
      await new Promise<void>((resolve, reject) => {
        let aborting = false;
        const first = new tus.Upload(file, {
          ...options,
          onError: reject,
          onSuccess: () => reject(new Error("finished before the abort")),
          onProgress: (sent: number, total: number) => {
            if (aborting || sent / total < u.abortAt!) return;
            aborting = true;
            void first.abort().then(resolve, reject);
          },
        });
        first.start();
      });
    }
    const upload = new tus.Upload(file, options);
    // Resuming across Upload objects, as after a page reload: tus-js-client remembers the upload
    // URL in localStorage by the file's fingerprint; the server (HEAD) says where it stands.
    const previous: Array<{ uploadUrl: string }> = await upload.findPreviousUploads();
    if (previous.length > 0) {
      const head = await fetch(previous[0]!.uploadUrl, { method: "HEAD", headers: { "tus-resumable": "1.0.0" } });
      resumedFrom = Number(head.headers.get("upload-offset"));
      upload.resumeFromPreviousUpload(previous[0]);
    }
    const url = await new Promise<string>((resolve, reject) => {
      upload.options.onError = reject;
      upload.options.onSuccess = () => resolve(upload.url);
      upload.start();
    });
    return { url, resumedFrom };
  }, u);
}

describe("tus from a browser (tus-js-client's browser build, session cookie)", () => {
  it("a File sent in one PATCH and one sent in 3 MiB PATCHes (parts are 8 MiB) land intact in the drive", async () => {
    const { page, user } = await signedInPageWithTus();
    const whole = { name: "整个 whole.bin", size: 10 * MiB + 17, seed: 3 };
    const pieces = { name: "pieces.bin", size: 19 * MiB + 5, seed: 4, chunkSize: 3 * MiB };
    const a = await uploadInPage(page, whole);
    const b = await uploadInPage(page, pieces);
    expect(a.url).toMatch(/\/api\/tus\/[^/]+$/);
    expect(b.url).toMatch(/\/api\/tus\/[^/]+$/);

    for (const u of [whole, pieces]) {
      const entry = await db.$primary().entry.findFirstOrThrow({ where: { ownerId: user.actor.userId, name: u.name }, include: { blob: true } });
      expect(Number(entry.blob!.size)).toBe(u.size);
      expect(entry.blob!.sha256).toBe(createHash("sha256").update(pattern(u.size, u.seed)).digest("hex"));
    }
    await page.goto("/");
    await expect.poll(() => page.locator('[data-testid="entry"] .entry-name').allTextContents()).toEqual(
      expect.arrayContaining([whole.name, pieces.name]),
    );
    await screenshot(page, "tus-browser-uploads");
  }, 120_000);

  it("an upload aborted halfway resumes where the server says it stands, with a new Upload object", async () => {
    const { page, user } = await signedInPageWithTus();
    const u = { name: "resumed.bin", size: 12 * MiB + 3, seed: 5, chunkSize: 2 * MiB, abortAt: 0.4 };
    const { resumedFrom } = await uploadInPage(page, u);
    // Whole parts and the tail of the acknowledged PATCHes were kept: the second Upload did not start over.
    expect(resumedFrom).toBeGreaterThanOrEqual(4 * MiB);
    const entry = await db.$primary().entry.findFirstOrThrow({ where: { ownerId: user.actor.userId, name: u.name }, include: { blob: true } });
    expect(entry.blob!.sha256).toBe(createHash("sha256").update(pattern(u.size, u.seed)).digest("hex"));
  }, 120_000);
});
