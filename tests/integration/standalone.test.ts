import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../helpers/browser";
import { projectRoot } from "../helpers/processes";
import { patternBytes, postFiles, sha256hex } from "../helpers/upload-client";
import { createTestUser, deleteCreatedTestUsers } from "../helpers/users";
import { trpcAt, until } from "../helpers/web-instances";

// The image's server folder (scripts/build-server.mjs over Next's standalone output, what
// deploy/Dockerfile copies) copied outside the repository, where no node_modules of the project can
// be reached, and run from there: the migration runner, the web server (pages, tRPC, raw routes)
// and the worker. This is what can be proved of the image without a container engine.

let dir = "";
const children: ChildProcess[] = [];

function run(entry: string, env: Record<string, string>): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child: ChildProcess = spawn(process.execPath, [entry], {
    cwd: dir,
    // Only what a container would get: no NODE_PATH, no inherited tsx loader.
    env: { PATH: process.env.PATH!, ...env } as unknown as NodeJS.ProcessEnv,
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d));
  child.stderr!.on("data", (d: Buffer) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  return { child, output: () => out, exited };
}

const appEnv = () => ({
  NODE_ENV: "production",
  DATABASE_URL: process.env.DATABASE_URL!,
  REDIS_PREFIX: process.env.REDIS_PREFIX!,
  AMQP_PREFIX: process.env.AMQP_PREFIX!,
  AUTH_SECRET: process.env.AUTH_SECRET!,
  STORAGE_DRIVER: "local",
  STORAGE_LOCAL_DIR: process.env.STORAGE_LOCAL_DIR!,
  LOG_FORMAT: "json",
});

beforeAll(async () => {
  if (!existsSync(path.join(projectRoot, ".next/standalone/server.js"))) {
    throw new Error("No .next/standalone: run `npm run build` first (scripts/test.sh does)");
  }
  dir = await mkdtemp(path.join(os.tmpdir(), "fs-server-folder-"));
  const built = spawnSync(process.execPath, ["scripts/build-server.mjs", dir], { cwd: projectRoot, encoding: "utf8" });
  expect(built.status, built.stderr).toBe(0);
}, 240_000);

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
  await deleteCreatedTestUsers();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("the server folder of the image", () => {
  it("holds its own entry points and dependencies, not the project's sources", () => {
    for (const f of ["dist/server.mjs", "dist/worker.mjs", "dist/migrate.mjs", ".next/BUILD_ID", ".next/static", "public/favicon.svg", "prisma/migrations", "node_modules/next/package.json"]) {
      expect(existsSync(path.join(dir, f)), f).toBe(true);
    }
    for (const f of ["src", "tests", "next.config.mjs", "node_modules/typescript", "node_modules/vitest"]) expect(existsSync(path.join(dir, f)), f).toBe(false);
  });

  it("migrates, serves pages, tRPC and raw routes, and runs the worker, from its own folder", async () => {
    const t0 = Date.now();
    const step = (what: string) => console.log(`[standalone] ${what} at ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    const migrate = run("dist/migrate.mjs", appEnv());
    const code = await migrate.exited;
    expect(code, migrate.output()).toBe(0);
    expect(migrate.output()).toMatch(/already up to date/);

    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const web = run("dist/server.mjs", { ...appEnv(), HOST: "127.0.0.1", PORT: String(port), NEXTAUTH_URL: base });
    await until("the server folder's web server", async () => /listening on/.test(web.output()), 120_000).catch((e) => {
      throw new Error(`${e.message}\n${web.output()}`);
    });
    step("web listening");
    expect((await fetch(`${base}/api/health/live`)).status).toBe(200);
    // Readiness: every dependency answers (the first probes may be slow on a loaded machine).
    await until("readiness", async () => (await fetch(`${base}/api/health`)).status === 200, 60_000);

    const page = await fetch(`${base}/signin`);
    expect(page.status).toBe(200);
    const html = await page.text();
    const asset = /href="(\/_next\/static\/[^"]+\.css)"/.exec(html)?.[1];
    expect(asset).toBeTruthy();
    expect((await fetch(`${base}${asset}`)).status).toBe(200);

    step("pages served");
    const user = await createTestUser();
    const signedIn = await trpcAt(base).auth.signin.mutate({ username: user.username, password: user.password });
    const auth = { authorization: `Bearer ${signedIn.accessToken}` };
    const data = patternBytes(300_000, 6601);
    const posted = await postFiles(base, auth, [{ name: "from-the-image.bin", data }]);
    expect(posted.status).toBe(201);
    const got = await fetch(`${base}/api/files/${posted.json.files[0].id}/content`, { headers: auth });
    expect(sha256hex(Buffer.from(await got.arrayBuffer()))).toBe(sha256hex(data));
    expect((await trpcAt(base, auth).file.list.query({})).items.map((e) => e.name)).toContain("from-the-image.bin");

    step("raw routes served");
    const worker = run("dist/worker.mjs", appEnv());
    await until("the worker consuming", async () => /consuming /.test(worker.output()), 60_000).catch((e) => {
      throw new Error(`${e.message}\n${worker.output()}`);
    });
    step("worker consuming");
    worker.child.kill("SIGTERM");
    web.child.kill("SIGTERM");
    const bounded = (p: Promise<number | null>, what: () => string) =>
      Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no exit within 60 s:\n${what()}`)), 60_000))]);
    expect(await bounded(worker.exited, worker.output)).toBe(0);
    expect(await bounded(web.exited, web.output)).toBe(0);
  }, 240_000);
});
