import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { projectRoot, spawnTsx, type Spawned } from "./processes";

// Browser tests against the production build (scripts/test.sh runs `next build` first), served by
// the custom server (src/server/main.ts) on a free port, driven by the system Chromium.

export const screenshotDir = path.join(projectRoot, "tests/e2e/screenshots");

/** Flags for headless Chromium on a machine without outside network (no background connections). */
export const chromiumArgs = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      const port = typeof address === "object" && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

export interface BrowserStack {
  baseUrl: string;
  server: Spawned;
  browser: Browser;
  /** A fresh context (no cookies) and page; downloads accepted. */
  newPage: (viewport?: { width: number; height: number }) => Promise<{ context: BrowserContext; page: Page }>;
  stop: () => Promise<void>;
}

export async function startBrowserStack(env: Record<string, string> = {}): Promise<BrowserStack> {
  if (!existsSync(path.join(projectRoot, ".next/BUILD_ID"))) {
    throw new Error("No production build in .next: run `npm run build` first (scripts/test.sh does)");
  }
  await mkdir(screenshotDir, { recursive: true });
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const server = spawnTsx("src/server/main.ts", { NODE_ENV: "production", HOST: "127.0.0.1", PORT: String(port), NEXTAUTH_URL: baseUrl, ...env });
  await server.waitFor(/listening on/, 90_000);
  const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: chromiumArgs });
  return {
    baseUrl,
    server,
    browser,
    async newPage(viewport = { width: 1280, height: 800 }) {
      const context = await browser.newContext({ baseURL: baseUrl, viewport, acceptDownloads: true });
      const page = await context.newPage();
      page.setDefaultTimeout(20_000);
      return { context, page };
    },
    async stop() {
      await browser.close();
      await server.stop();
    },
  };
}

/** A full-page screenshot in tests/e2e/screenshots (gitignored). */
export function screenshot(page: Page, name: string): Promise<Buffer> {
  return page.screenshot({ path: path.join(screenshotDir, `${name}.png`), fullPage: true });
}

/** Signs in through the /signin form and waits for the drive. */
export async function signInThroughForm(page: Page, baseUrl: string, user: { username: string; password: string }): Promise<void> {
  await page.goto("/signin");
  await page.fill('input[name="username"]', user.username);
  await page.fill('input[name="password"]', user.password);
  await page.click('button[type="submit"]');
  await page.waitForURL(`${baseUrl}/`);
  await page.getByTestId("username").waitFor();
}

/**
 * Drops files and folders from disk onto the element, the way a desktop drag does (Chromium's
 * DevTools Input.dispatchDragEvent with file paths: folders arrive as directory entries, which a
 * script-made DataTransfer cannot carry).
 */
export async function dropPaths(page: Page, selector: string, paths: string[]): Promise<void> {
  const box = await page.locator(selector).first().boundingBox();
  if (!box) throw new Error(`dropPaths: ${selector} is not visible`);
  const x = box.x + box.width / 2;
  const y = box.y + Math.min(box.height / 2, 200);
  const cdp = await page.context().newCDPSession(page);
  try {
    const data = { items: [], files: paths, dragOperationsMask: 1 };
    for (const type of ["dragEnter", "dragOver", "drop"] as const) await cdp.send("Input.dispatchDragEvent", { type, x, y, data });
  } finally {
    await cdp.detach();
  }
}
