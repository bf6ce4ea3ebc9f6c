import { randomBytes } from "node:crypto";
import type { Locator, Page } from "playwright-core";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { db } from "~/server/db/client";
import { cleanupDriveUsers, putFile } from "../helpers/drive-files";
import { screenshot, signInThroughForm, startBrowserStack, type BrowserStack } from "../helpers/browser";
import { spawnTsx, type Spawned } from "../helpers/processes";
import { createTestUser, type TestUser } from "../helpers/users";

// Previews and gestures in Chromium against the production build, with the worker running:
// thumbnails made by the worker (sharp) and shown in the listing; the viewer for an image, a PDF,
// a video, audio seeking through Range requests, and text; hostile HTML and SVG never rendered from
// our origin (attachment, nosniff, sandboxing CSP; the viewer shows their source); drag to move onto
// a folder and onto a breadcrumb; copy; the right-click menu; keyboard shortcuts and their help; the
// trash stating the configured retention. Screenshots at laptop and phone widths.

const RETENTION_DAYS = 12;

let stack: BrowserStack;
let worker: Spawned;
const users: TestUser[] = [];

beforeAll(async () => {
  stack = await startBrowserStack({ TRASH_RETENTION_DAYS: String(RETENTION_DAYS) });
  worker = spawnTsx("src/worker/main.ts");
  await worker.waitFor(/consuming/, 60_000);
}, 180_000);

afterAll(async () => {
  await worker?.stop();
  await stack?.stop();
  await cleanupDriveUsers(users);
});

async function newUser(): Promise<TestUser> {
  const user = await createTestUser();
  users.push(user);
  return user;
}

const entryRow = (page: Page, name: string): Locator =>
  page.locator('[data-testid="entry"]').filter({ has: page.locator(".entry-name", { hasText: new RegExp(`^${escapeRegExp(name)}$`) }) });

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Nothing focused: keys go to the page (as after clicking an empty spot). */
async function unfocus(page: Page): Promise<void> {
  await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
}

async function entryNames(page: Page): Promise<string[]> {
  return page.locator('[data-testid="entry"] .entry-name').allTextContents();
}

/** A small valid PDF with one line of text (offsets computed, so any PDF reader opens it). */
function tinyPdf(text: string): Buffer {
  const content = `BT /F1 28 Tf 40 120 Td (${text}) Tj ET`;
  const objects = [
    "<< /Type /Catalog /Pages 2 0 R >>",
    "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 420 260] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
    `<< /Length ${content.length} >>\nstream\n${content}\nendstream`,
    "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
  ];
  let pdf = "%PDF-1.4\n";
  const offsets: number[] = [];
  objects.forEach((body, i) => {
    offsets.push(pdf.length);
    pdf += `${i + 1} 0 obj\n${body}\nendobj\n`;
  });
  const xref = pdf.length;
  pdf += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, "0")} 00000 n \n`).join("")}`;
  pdf += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(pdf, "latin1");
}

/** A mono 16-bit PCM WAV of a tone: long enough that seeking to its end needs a Range request. */
function toneWav(seconds: number, rate = 22_050): Buffer {
  const samples = seconds * rate;
  const out = Buffer.alloc(44 + samples * 2);
  out.write("RIFF", 0);
  out.writeUInt32LE(36 + samples * 2, 4);
  out.write("WAVEfmt ", 8);
  out.writeUInt32LE(16, 16);
  out.writeUInt16LE(1, 20);
  out.writeUInt16LE(1, 22);
  out.writeUInt32LE(rate, 24);
  out.writeUInt32LE(rate * 2, 28);
  out.writeUInt16LE(2, 32);
  out.writeUInt16LE(16, 34);
  out.write("data", 36);
  out.writeUInt32LE(samples * 2, 40);
  for (let i = 0; i < samples; i++) out.writeInt16LE(Math.round(Math.sin((i / rate) * 2 * Math.PI * 440) * 8000), 44 + i * 2);
  return out;
}

/** A short WebM video recorded by Chromium itself (MediaRecorder over an animated canvas). */
async function recordWebm(page: Page): Promise<Buffer> {
  const base64 = await page.evaluate(async () => {
    const canvas = document.createElement("canvas");
    canvas.width = 320;
    canvas.height = 180;
    const g = canvas.getContext("2d")!;
    const stream = canvas.captureStream(25);
    const recorder = new MediaRecorder(stream, { mimeType: "video/webm" });
    const parts: Blob[] = [];
    recorder.ondataavailable = (e) => parts.push(e.data);
    const stopped = new Promise((resolve) => (recorder.onstop = resolve));
    recorder.start(200);
    const t0 = performance.now();
    await new Promise<void>((resolve) => {
      const draw = () => {
        const t = performance.now() - t0;
        g.fillStyle = "#1d4ed8";
        g.fillRect(0, 0, 320, 180);
        g.fillStyle = "#fbbf24";
        g.fillRect((t / 10) % 280, 60, 40, 60);
        g.fillStyle = "#fff";
        g.font = "24px sans-serif";
        g.fillText("filestore video", 70, 40);
        if (t < 1500) requestAnimationFrame(draw);
        else resolve();
      };
      draw();
    });
    recorder.stop();
    await stopped;
    const bytes = new Uint8Array(await new Blob(parts, { type: "video/webm" }).arrayBuffer());
    let binary = "";
    for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return btoa(binary);
  });
  return Buffer.from(base64, "base64");
}

const HOSTILE_HTML = `<!doctype html><title>pwned</title><h1 id="evil">evil page</h1>
<script>document.title = "pwned"; try { parent.document.body.dataset.pwned = "1"; } catch (e) {}</script>`;
const HOSTILE_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100"><rect width="100" height="100" fill="red"/>
<script>try { parent.document.body.dataset.pwned = "1"; } catch (e) {} document.title = "pwned";</script></svg>`;

describe("browser: previews", () => {
  let user: TestUser;
  let page: Page;
  const wav = toneWav(300, 44_100); // 26 MB: more than the player reads ahead


  beforeAll(async () => {
    user = await newUser();
    const png = await sharp({ create: { width: 1200, height: 800, channels: 3, background: { r: 30, g: 120, b: 220 } } })
      .composite([{ input: Buffer.from('<svg width="1200" height="800"><circle cx="600" cy="400" r="300" fill="#fbbf24"/></svg>') }])
      .png()
      .toBuffer();
    await putFile(user, { name: "a sunny picture.png", data: png, mime: "image/png" });
    await putFile(user, { name: "broken picture.png", data: randomBytes(5000), mime: "image/png" });
    await putFile(user, { name: "brochure.pdf", data: tinyPdf("Hello from a PDF"), mime: "application/pdf" });
    await putFile(user, { name: "tone.wav", data: wav, mime: "audio/wav" });
    await putFile(user, { name: "notes.ts", data: "export const answer: number = 42;\n// 注释 comments survive\n", mime: "application/octet-stream" });
    await putFile(user, { name: "evil.html", data: HOSTILE_HTML, mime: "text/html" });
    await putFile(user, { name: "evil.svg", data: HOSTILE_SVG, mime: "image/svg+xml" });
    await putFile(user, { name: "sneaky.png", data: HOSTILE_HTML, mime: "image/png" });
    page = (await stack.newPage()).page;
    await signInThroughForm(page, stack.baseUrl, user);
    const video = await recordWebm(page);
    expect(video.length).toBeGreaterThan(1000);
    await putFile(user, { name: "clip.webm", data: video, mime: "video/webm" });
    await page.reload();
    await entryRow(page, "clip.webm").waitFor();
  }, 120_000);

  afterAll(async () => {
    await page?.context().close();
  });

  it("shows image thumbnails made by the worker; the listing works without them", async () => {
    const thumb = entryRow(page, "a sunny picture.png").getByTestId("thumbnail");
    await expect.poll(() => thumb.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth), { timeout: 60_000 }).toBeGreaterThan(0);
    expect(await thumb.evaluate((img: HTMLImageElement) => [img.naturalWidth, img.naturalHeight])).toEqual([256, 171]);
    const picture = await db.entry.findFirst({ where: { ownerId: user.actor.userId, name: "a sunny picture.png" }, include: { blob: true } });
    const row = await db.thumbnail.findUnique({ where: { sha256: picture!.blob!.sha256 } });
    expect(row!.state).toBe("ready");
    // The unreadable image keeps its icon; the job marked it failed, not retried forever.
    const broken = await db.entry.findFirst({ where: { ownerId: user.actor.userId, name: "broken picture.png" }, include: { blob: true } });
    await expect.poll(async () => (await db.thumbnail.findUnique({ where: { sha256: broken!.blob!.sha256 } }))?.state, { timeout: 60_000 }).toBe("failed");
    expect(await entryNames(page)).toContain("broken picture.png");
    await screenshot(page, "previews-01-listing-thumbnails");
  });

  it("opens an image in the viewer and moves to the next file with the arrow key", async () => {
    await entryRow(page, "a sunny picture.png").getByTestId("open-file").click();
    const viewer = page.getByTestId("viewer");
    await viewer.waitFor();
    const img = viewer.getByTestId("viewer-image");
    await expect.poll(() => img.evaluate((el: HTMLImageElement) => el.complete && el.naturalWidth)).toBe(1200);
    await screenshot(page, "previews-02-viewer-image");
    await page.keyboard.press("ArrowRight");
    await expect.poll(() => viewer.getByTestId("viewer-name").textContent()).toBe("brochure.pdf");
    await page.keyboard.press("Escape");
    await viewer.waitFor({ state: "detached" });
  });

  it("shows a PDF in the browser's own viewer", async () => {
    await entryRow(page, "brochure.pdf").getByTestId("open-file").click();
    const frame = page.getByTestId("viewer-pdf");
    await frame.waitFor();
    const src = await frame.getAttribute("src");
    const response = await page.evaluate(async (url) => {
      const r = await fetch(url!);
      return { type: r.headers.get("content-type"), disposition: r.headers.get("content-disposition"), csp: r.headers.get("content-security-policy") };
    }, src);
    expect(response.type).toBe("application/pdf");
    expect(response.disposition).toMatch(/^inline;/);
    expect(response.csp).toMatch(/^sandbox/);
    await page.waitForTimeout(6000); // the PDF viewer draws the page
    await screenshot(page, "previews-03-viewer-pdf");
    await page.getByTestId("viewer-close").click();
  });

  it("plays a video, and seeks in audio through Range requests", async () => {
    await entryRow(page, "clip.webm").getByTestId("open-file").click();
    const video = page.getByTestId("viewer-video");
    await video.waitFor();
    await expect.poll(() => video.evaluate((v: HTMLVideoElement) => v.readyState >= 2 && v.videoWidth), { timeout: 20_000 }).toBe(320);
    await screenshot(page, "previews-04-viewer-video");
    await page.getByTestId("viewer-close").click();

    const ranges: string[] = [];
    page.on("request", (r) => {
      if (r.url().includes("/content?inline=1") && r.headers()["range"]) ranges.push(r.headers()["range"]!);
    });
    await entryRow(page, "tone.wav").getByTestId("open-file").click();
    const audio = page.getByTestId("viewer-audio");
    await expect.poll(() => audio.evaluate((a: HTMLAudioElement) => a.duration), { timeout: 20_000 }).toBeCloseTo(300, 0);
    await audio.evaluate((a: HTMLAudioElement) => new Promise((resolve) => {
      a.addEventListener("seeked", resolve, { once: true });
      a.currentTime = 290;
    }));
    // The seek fetched the bytes near the end with a Range starting far into the file.
    const starts = ranges.map((r) => Number(/bytes=(\d+)-/.exec(r)?.[1] ?? -1));
    expect(Math.max(...starts)).toBeGreaterThan(wav.length / 2);
    await screenshot(page, "previews-05-viewer-audio");
    await page.getByTestId("viewer-close").click();
  });

  it("shows code as text", async () => {
    await entryRow(page, "notes.ts").getByTestId("open-file").click();
    await expect.poll(() => page.getByTestId("viewer-text").textContent()).toContain("export const answer: number = 42;");
    expect(await page.getByTestId("viewer-text").textContent()).toContain("注释 comments survive");
    await screenshot(page, "previews-06-viewer-text");
    await page.getByTestId("viewer-close").click();
  });

  it("never renders a hostile HTML or SVG file from our origin", async () => {
    for (const name of ["evil.html", "evil.svg"]) {
      await entryRow(page, name).getByTestId("open-file").click();
      const viewer = page.getByTestId("viewer");
      expect(await viewer.getAttribute("data-kind")).toBe("text");
      await expect.poll(() => page.getByTestId("viewer-text").textContent()).toContain("<script>");
      expect(await viewer.textContent()).toContain("Shown as source");
      if (name === "evil.html") await screenshot(page, "previews-07-viewer-hostile-html");
      await page.getByTestId("viewer-close").click();
    }
    expect(await page.evaluate(() => document.body.dataset.pwned)).toBeUndefined();

    // Asked inline, they are still attachments, with nosniff and a sandboxing CSP.
    const ids = await db.entry.findMany({ where: { ownerId: user.actor.userId, name: { in: ["evil.html", "evil.svg", "sneaky.png"] } } });
    for (const entry of ids) {
      const headers = await page.evaluate(async (id) => {
        const r = await fetch(`/api/files/${id}/content?inline=1`);
        return Object.fromEntries(r.headers.entries());
      }, entry.id);
      expect(headers["x-content-type-options"]).toBe("nosniff");
      expect(headers["content-security-policy"]).toMatch(/(^|;)\s*sandbox/);
      if (entry.name !== "sneaky.png") expect(headers["content-disposition"], entry.name).toMatch(/^attachment;/);
    }
    // Opened directly, the HTML downloads instead of running; the HTML posing as a PNG stays an image.
    const visitor = await page.context().newPage();
    const html = ids.find((e) => e.name === "evil.html")!;
    const [download] = await Promise.all([
      visitor.waitForEvent("download"),
      visitor.goto(`${stack.baseUrl}/api/files/${html.id}/content?inline=1`).catch(() => null),
    ]);
    expect(download.suggestedFilename()).toBe("evil.html");
    const sneaky = ids.find((e) => e.name === "sneaky.png")!;
    await visitor.goto(`${stack.baseUrl}/api/files/${sneaky.id}/content?inline=1`);
    expect(await visitor.title()).not.toBe("pwned");
    expect(await visitor.locator("#evil").count()).toBe(0);
    await visitor.close();
  });

  it("the viewer at phone width", async () => {
    await page.setViewportSize({ width: 390, height: 800 });
    await entryRow(page, "a sunny picture.png").getByTestId("open-file").click();
    await expect.poll(() => page.getByTestId("viewer-image").evaluate((el: HTMLImageElement) => el.complete && el.naturalWidth)).toBe(1200);
    await screenshot(page, "previews-08-viewer-phone");
    await page.getByTestId("viewer-close").click();
    await screenshot(page, "previews-09-listing-phone");
    await page.setViewportSize({ width: 1280, height: 800 });
  });
});

describe("browser: gestures", () => {
  let user: TestUser;
  let page: Page;

  beforeAll(async () => {
    user = await newUser();
    const folder = await user.caller.file.mkdir({ name: "Projects" });
    await user.caller.file.mkdir({ name: "Archive" });
    await putFile(user, { name: "report.txt", data: "the report\n", mime: "text/plain" });
    await putFile(user, { name: "budget.csv", data: "a,b\n1,2\n", mime: "text/csv" });
    await putFile(user, { name: "inside.txt", data: "inside\n", mime: "text/plain", parentId: folder.id });
    page = (await stack.newPage()).page;
    await signInThroughForm(page, stack.baseUrl, user);
    await entryRow(page, "report.txt").waitFor();
  });

  afterAll(async () => {
    await page?.context().close();
  });

  it("drags a file onto a folder to move it, and back out onto a breadcrumb", async () => {
    await entryRow(page, "report.txt").dragTo(entryRow(page, "Projects"));
    await entryRow(page, "report.txt").waitFor({ state: "detached" });
    expect(await page.getByTestId("drive-notice").textContent()).toContain("Moved 1 item");
    const projects = await db.entry.findFirst({ where: { ownerId: user.actor.userId, name: "Projects" } });
    const moved = await db.entry.findFirst({ where: { ownerId: user.actor.userId, name: "report.txt" } });
    expect(moved!.parentId).toBe(projects!.id);

    await entryRow(page, "Projects").locator("a.entry-name").click();
    await entryRow(page, "report.txt").waitFor();
    await entryRow(page, "report.txt").dragTo(page.getByTestId("crumb").filter({ hasText: "My drive" }));
    await entryRow(page, "report.txt").waitFor({ state: "detached" });
    expect((await db.entry.findFirst({ where: { ownerId: user.actor.userId, name: "report.txt" } }))!.parentId).toBeNull();
    await page.getByTestId("crumb").filter({ hasText: "My drive" }).click();
    await entryRow(page, "report.txt").waitFor();
  });

  it("the right-click menu copies a file into a folder", async () => {
    await entryRow(page, "budget.csv").click({ button: "right" });
    const menu = page.getByTestId("context-menu");
    await menu.waitFor();
    expect(await menu.getByRole("menuitem").allTextContents()).toEqual(
      expect.arrayContaining([expect.stringContaining("Preview"), expect.stringContaining("Copy to…"), expect.stringContaining("Move to trash")]),
    );
    await screenshot(page, "gestures-01-context-menu");
    await menu.getByRole("menuitem", { name: /Copy to/ }).click();
    const dialog = page.getByTestId("move-dialog");
    await dialog.getByTestId("move-folder").filter({ hasText: "Archive" }).click();
    await dialog.getByText("No folders here").waitFor();
    await dialog.getByTestId("move-here").click();
    await dialog.waitFor({ state: "detached" });
    const archive = await db.entry.findFirst({ where: { ownerId: user.actor.userId, name: "Archive" } });
    await expect.poll(async () => (await user.caller.file.list({ parentId: archive!.id })).items.map((e) => e.name)).toEqual(["budget.csv"]);
    expect(await entryNames(page)).toContain("budget.csv"); // the original stays
  });

  it("keyboard: arrows, Enter, Alt+↑, F2, Ctrl+A, Escape, copy and paste, Delete, and the help", async () => {
    await unfocus(page); // keys go to the page, not a field
    await page.keyboard.press("Home");
    await expect.poll(() => page.locator('[data-testid="entry"].focused .entry-name').textContent()).toBe("Archive");
    await page.keyboard.press("ArrowDown");
    await expect.poll(() => page.locator('[data-testid="entry"].focused .entry-name').textContent()).toBe("Projects");
    await page.keyboard.press("Enter");
    await page.waitForURL(/\?folder=/);
    await entryRow(page, "inside.txt").waitFor();
    await page.keyboard.press("Alt+ArrowUp");
    await page.waitForURL(`${stack.baseUrl}/`);
    await entryRow(page, "report.txt").waitFor();

    // F2 renames the focused entry.
    await page.keyboard.press("End");
    await expect.poll(() => page.locator('[data-testid="entry"].focused .entry-name').textContent()).toBe("report.txt");
    await page.keyboard.press("F2");
    const input = page.getByTestId("rename-form").getByLabel("New name");
    await input.fill("report final.txt");
    await input.press("Enter");
    await entryRow(page, "report final.txt").waitFor();

    // Ctrl+A selects everything, Escape clears.
    await unfocus(page);
    await page.keyboard.press("Control+a");
    await expect.poll(() => page.getByTestId("selection-bar").textContent()).toContain("4 selected");
    await page.keyboard.press("Escape");
    await page.getByTestId("selection-bar").waitFor({ state: "detached" });

    // Ctrl+C on the focused file, Ctrl+V inside a folder: a copy there.
    await page.keyboard.press("End");
    await page.keyboard.press("Control+c");
    await page.getByTestId("drive-notice").waitFor();
    await entryRow(page, "Projects").locator("a.entry-name").click();
    await entryRow(page, "inside.txt").waitFor();
    await unfocus(page);
    await page.keyboard.press("Control+v");
    await entryRow(page, "report final.txt").waitFor();
    await page.keyboard.press("Alt+ArrowUp");
    await page.waitForURL(`${stack.baseUrl}/`);
    await entryRow(page, "budget.csv").waitFor(); // the root's listing, not the folder's
    await entryRow(page, "report final.txt").waitFor();

    // Delete asks first, and says the real retention.
    await unfocus(page);
    await page.keyboard.press("End");
    await page.keyboard.press("Delete");
    await page.getByTestId("confirm-dialog").waitFor();
    expect(await page.getByTestId("delete-retention").textContent()).toContain(`after ${RETENTION_DAYS} days`);
    await screenshot(page, "gestures-02-delete-retention");
    await page.getByTestId("confirm").click();
    await entryRow(page, "report final.txt").waitFor({ state: "detached" });

    // ? shows every shortcut.
    await unfocus(page);
    await page.keyboard.press("?");
    const help = page.getByTestId("shortcuts-help");
    await help.waitFor();
    expect(await help.textContent()).toContain("Move to the trash");
    await screenshot(page, "gestures-03-shortcuts-help");
    await help.getByRole("button", { name: "Got it" }).click();
  });

  it("the trash states the configured retention", async () => {
    await page.getByRole("link", { name: "Trash" }).click();
    await page.locator('[data-testid="trash-entry"]').first().waitFor();
    expect(await page.getByTestId("trash-retention").textContent()).toBe(
      `Items in the trash are deleted forever ${RETENTION_DAYS} days after they were moved here.`,
    );
    expect(await page.locator('[data-testid="trash-entry"]').first().textContent()).toContain(`Deleted in ${RETENTION_DAYS} days`);
    await screenshot(page, "gestures-04-trash-retention");
    await page.setViewportSize({ width: 390, height: 800 });
    await screenshot(page, "gestures-05-trash-phone");
    await page.setViewportSize({ width: 1280, height: 800 });
  });
});

describe("server log", () => {
  it("the flows above logged no tRPC or route errors", () => {
    expect(stack.server.output()).not.toMatch(/\[trpc\]|\[web\] (next|raw route) failed/);
  });
});
