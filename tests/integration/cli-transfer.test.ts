import { mkdir, readdir, rm, stat, truncate, writeFile } from "node:fs/promises";
import { mkdtemp } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { cli, cliHome, fileSha256, startApp, startCli, startCountingProxy, type App, type CliHome, type CountingProxy } from "../helpers/cli";
import { cleanupDriveUsers } from "../helpers/drive-files";
import { patternBytes } from "../helpers/upload-client";
import { createTestUser, type TestUser } from "../helpers/users";

// `filestore upload` and `filestore download` as a user runs them: a subprocess against the app
// (production build, real services), behind a proxy that counts the bytes the server was sent.

// Each CLI run is a process of its own (node + tsx): generous limits for a loaded 2-core machine.
vi.setConfig({ testTimeout: 600_000, hookTimeout: 600_000 });

const MiB = 1024 * 1024;
let app: App;
let proxy: CountingProxy;
let local: string;
const users: TestUser[] = [];
const homes: CliHome[] = [];

beforeAll(async () => {
  app = await startApp();
  proxy = await startCountingProxy(app.baseUrl);
  local = await mkdtemp(path.join(os.tmpdir(), "fs-cli-files-"));
}, 600_000);
afterAll(async () => {
  await proxy?.close();
  await app?.stop();
  await cleanupDriveUsers(users);
  for (const h of homes) await h.remove();
  if (local) await rm(local, { recursive: true, force: true });
});

/** A drive user with the CLI logged in (--password-stdin), and their own CLI config. */
async function loggedIn(opts: { quotaBytes?: number } = {}) {
  const user = await createTestUser(opts);
  users.push(user);
  const home = await cliHome(proxy.url);
  homes.push(home);
  const login = await cli(["login", "--username", user.username, "--password-stdin"], { env: home.env, input: `${user.password}\n` });
  expect(login.code, login.stderr).toBe(0);
  const run = (args: string[], input?: string) => cli(args, { env: home.env, input });
  return { user, home, run };
}

async function writeTree(root: string, files: Record<string, Buffer>): Promise<void> {
  for (const [rel, data] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(root, rel)), { recursive: true });
    await writeFile(path.join(root, rel), data);
  }
}

async function listFiles(root: string, rel = ""): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(path.join(root, rel), { withFileTypes: true })) {
    const p = path.join(rel, e.name);
    if (e.isDirectory()) out.push(...(await listFiles(root, p)));
    else out.push(p);
  }
  return out.sort();
}

describe("filestore upload and download of a tree", () => {
  it("uploads a tree with unicode and space names, downloads it back with every SHA-256 verified, and re-runs as up to date", async () => {
    const { run } = await loggedIn();
    const src = path.join(local, "tree-src");
    const files: Record<string, Buffer> = {
      "报告 2026/季度 总结.txt": Buffer.from("第一季度\n"),
      "报告 2026/图片 集/photo one.jpg": patternBytes(3 * MiB + 17, 1),
      "Ünïcödé spaced name.bin": patternBytes(9 * MiB + 5, 2),
      "plain.txt": Buffer.from("plain\n"),
      "empty file": Buffer.alloc(0),
    };
    await writeTree(src, files);
    await mkdir(path.join(src, "空 文件夹"), { recursive: true });

    const up = await run(["--json", "upload", src, "/备份 目录"]);
    expect(up.code, up.stderr).toBe(0);
    const result = up.json<{ files: Array<{ path: string; status: string; sha256: string; sentBytes: number }> }>();
    expect(result.files.map((f) => f.path).sort()).toEqual(Object.keys(files).map((f) => `/备份 目录/tree-src/${f}`).sort());
    for (const f of result.files) expect(f.status).toBe("uploaded");

    const ls = await run(["ls", "-l", "/备份 目录/tree-src"]);
    expect(ls.code).toBe(0);
    expect(ls.stdout).toMatch(/^d\s+-\s+\S+ \S+\s+报告 2026\/$/m);
    expect(ls.stdout).toMatch(/^d\s+-\s+\S+ \S+\s+空 文件夹\/$/m);
    expect(ls.stdout).toMatch(/^-\s+9\.00 MiB\s+\S+ \S+\s+Ünïcödé spaced name\.bin$/m);
    expect(ls.stdout).toMatch(/^-\s+6 B\s+\S+ \S+\s+plain\.txt$/m);

    const dest = path.join(local, "tree-dl");
    const down = await run(["--json", "download", "/备份 目录/tree-src", dest]);
    expect(down.code, down.stderr).toBe(0);
    const got = path.join(dest, "tree-src");
    expect(await listFiles(got)).toEqual(Object.keys(files).sort());
    for (const [rel, data] of Object.entries(files)) {
      expect(await fileSha256(path.join(got, rel)), rel).toBe(await fileSha256(path.join(src, rel)));
      expect((await stat(path.join(got, rel))).size).toBe(data.length);
    }
    expect((await stat(path.join(got, "空 文件夹"))).isDirectory()).toBe(true);
    expect(down.json().files.every((f: { status: string }) => f.status === "downloaded")).toBe(true);

    // Again: nothing is sent or received twice.
    const again = await run(["--json", "upload", src, "/备份 目录"]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.json().files.map((f: { status: string }) => f.status)).toEqual(Array(5).fill("up-to-date"));
    expect(again.json().summary.sentBytes).toBe(0);
    const downAgain = await run(["--json", "download", "/备份 目录/tree-src", dest]);
    expect(downAgain.code).toBe(0);
    expect(downAgain.json().summary.receivedBytes).toBe(0);
  });

  it("killed with SIGKILL in the middle of an upload, continues where it stopped: no acknowledged chunk is sent again", async () => {
    const { run, home } = await loggedIn();
    const size = 40 * MiB + 123;
    const file = path.join(local, "resume.bin");
    await writeFile(file, patternBytes(size, 7));
    const chunk = MiB;
    const parallel = 3;

    proxy.run = 1;
    proxy.throttle = 8 * MiB; // about 5 s for the whole file
    const first = startCli(["upload", "--chunk-size", "1", "-j", String(parallel), file, "/resume/"], { env: home.env });
    // Wait until some chunks are acknowledged, then kill the CLI outright.
    const deadline = Date.now() + 60_000;
    while (proxy.chunkPuts.filter((p) => p.run === 1 && p.status === 200).length < 10) {
      if (Date.now() > deadline) throw new Error(`no progress: ${JSON.stringify(first.output())}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    first.child.kill("SIGKILL");
    const killed = await first.done;
    expect(killed.code).toBe(null);
    proxy.throttle = 0;
    await new Promise((r) => setTimeout(r, 300));

    const run1 = proxy.chunkPuts.filter((p) => p.run === 1);
    const acknowledged = new Set(run1.filter((p) => p.status === 200).map((p) => p.index));
    const unanswered = run1.filter((p) => p.status === null);
    expect(acknowledged.size).toBeGreaterThanOrEqual(10);
    expect(acknowledged.size).toBeLessThan(40);
    expect(unanswered.length).toBeLessThanOrEqual(parallel);

    proxy.run = 2;
    const second = await run(["--json", "upload", "--chunk-size", "1", "-j", String(parallel), file, "/resume/"]);
    expect(second.code, second.stderr).toBe(0);
    const outcome = second.json().files[0];
    expect(outcome.status).toBe("resumed");
    expect(outcome.resumedChunks).toBeGreaterThanOrEqual(acknowledged.size);

    const run2 = proxy.chunkPuts.filter((p) => p.run === 2);
    expect(new Set(run2.map((p) => p.uploadId))).toEqual(new Set(run1.map((p) => p.uploadId)));
    // No chunk the server acknowledged in the first run went out again…
    expect(run2.filter((p) => acknowledged.has(p.index))).toEqual([]);
    // …so what the server received twice is at most the chunks in flight when the CLI died.
    const bytesSent = [...run1, ...run2].reduce((sum, p) => sum + p.bytes, 0);
    expect(bytesSent).toBeLessThanOrEqual(size + parallel * chunk);
    // Every chunk was acknowledged in one of the runs, or was in flight at the kill (and, when the
    // server had recorded it all the same, not needed again).
    const covered = new Set([...acknowledged, ...unanswered.map((p) => p.index), ...run2.filter((p) => p.status === 200).map((p) => p.index)]);
    expect(covered.size).toBe(41);
    expect(outcome.sentBytes).toBe(run2.reduce((sum, p) => sum + p.bytes, 0));

    const back = path.join(local, "resume-back.bin");
    const down = await run(["download", "/resume/resume.bin", back]);
    expect(down.code, down.stderr).toBe(0);
    expect(await fileSha256(back)).toBe(await fileSha256(file));
  });

  it("秒传: a second copy of content the drive holds is linked by proof, with no chunk sent", async () => {
    const { run } = await loggedIn();
    const file = path.join(local, "instant.bin");
    await writeFile(file, patternBytes(6 * MiB + 1, 11));
    const first = await run(["--json", "upload", file, "/one/"]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.json().files[0].status).toBe("uploaded");

    proxy.run = 3;
    const second = await run(["--json", "upload", file, "/two/copy.bin"]);
    expect(second.code, second.stderr).toBe(0);
    const outcome = second.json().files[0];
    expect(outcome).toMatchObject({ status: "instant", sentBytes: 0, path: "/two/copy.bin", sha256: first.json().files[0].sha256 });
    expect(proxy.chunkPuts.filter((p) => p.run === 3)).toEqual([]);

    // Another user holding the same bytes also gets 秒传 — by proof of possession, not by the hash alone.
    const other = await loggedIn();
    proxy.run = 4;
    const third = await other.run(["--json", "upload", file, "/"]);
    expect(third.json().files[0].status).toBe("instant");
    expect(proxy.chunkPuts.filter((p) => p.run === 4)).toEqual([]);
  });

  it("a download killed midway leaves a .part that the next run resumes with Range, verified by SHA-256", async () => {
    const { run, home } = await loggedIn();
    const size = 24 * MiB + 3;
    const file = path.join(local, "dl-src.bin");
    await writeFile(file, patternBytes(size, 21));
    expect((await run(["upload", file, "/dl/"])).code).toBe(0);

    const dest = path.join(local, "dl-dest.bin");
    proxy.run = 5;
    proxy.throttle = 6 * MiB;
    const first = startCli(["download", "/dl/dl-src.bin", dest], { env: home.env });
    const deadline = Date.now() + 60_000;
    while ((proxy.contentGets.find((g) => g.run === 5)?.bytes ?? 0) < 8 * MiB) {
      if (Date.now() > deadline) throw new Error(`no progress: ${JSON.stringify(first.output())}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    first.child.kill("SIGKILL");
    await first.done;
    proxy.throttle = 0;
    const partSize = (await stat(`${dest}.part`)).size;
    expect(partSize).toBeGreaterThan(0);
    expect(partSize).toBeLessThan(size);
    await expect(stat(dest)).rejects.toThrow();

    // Cut it shorter still (a torn write): the resume starts from what is really on disk.
    const kept = partSize - 12345;
    await truncate(`${dest}.part`, kept);
    proxy.run = 6;
    const second = await run(["--json", "download", "/dl/dl-src.bin", dest]);
    expect(second.code, second.stderr).toBe(0);
    expect(second.json().files[0]).toMatchObject({ status: "resumed", resumedFrom: kept, receivedBytes: size - kept });
    const gets = proxy.contentGets.filter((g) => g.run === 6);
    expect(gets).toHaveLength(1);
    expect(gets[0]).toMatchObject({ range: `bytes=${kept}-`, status: 206, bytes: size - kept });
    expect(await fileSha256(dest)).toBe(await fileSha256(file));
    await expect(stat(`${dest}.part`)).rejects.toThrow();
  });

  it("refuses bytes that do not match the file's SHA-256 (exit 8) and keeps nothing", async () => {
    const { run } = await loggedIn();
    const file = path.join(local, "integrity.bin");
    await writeFile(file, patternBytes(2 * MiB, 31));
    expect((await run(["upload", file, "/"])).code).toBe(0);
    const dest = path.join(local, "integrity-dl.bin");
    proxy.corruptDownloadsAt = 1000;
    try {
      const bad = await run(["download", "/integrity.bin", dest]);
      expect(bad.code).toBe(8);
      expect(bad.stderr).toMatch(/SHA-256/);
    } finally {
      proxy.corruptDownloadsAt = null;
    }
    await expect(stat(dest)).rejects.toThrow();
    await expect(stat(`${dest}.part`)).rejects.toThrow();
  });
});

describe("name clashes (--on-conflict)", () => {
  it("error by default (exit 5, others still go), skip, rename, overwrite (the old version to the trash)", async () => {
    const { run } = await loggedIn();
    const dir = path.join(local, "clash");
    await writeTree(dir, { "a.txt": Buffer.from("version 1\n"), "b.txt": Buffer.from("b\n") });
    expect((await run(["upload", dir, "/c"])).code).toBe(0);
    await writeFile(path.join(dir, "a.txt"), "version 2!\n");
    await writeFile(path.join(dir, "new.txt"), "new\n");

    const clash = await run(["--json", "upload", dir, "/c"]);
    expect(clash.code).toBe(5);
    const byName = (r: typeof clash) => Object.fromEntries(r.json().files.map((f: { path: string; status: string }) => [f.path, f.status]));
    expect(byName(clash)).toEqual({ "/c/clash/a.txt": "failed", "/c/clash/b.txt": "up-to-date", "/c/clash/new.txt": "uploaded" });

    const skip = await run(["--json", "upload", "--on-conflict", "skip", dir, "/c"]);
    expect(skip.code).toBe(0);
    expect(byName(skip)["/c/clash/a.txt"]).toBe("skipped");

    const renamed = await run(["--json", "upload", "--on-conflict", "rename", path.join(dir, "a.txt"), "/c/clash/"]);
    expect(renamed.code).toBe(0);
    expect(renamed.json().files[0].path).toBe("/c/clash/a (1).txt");

    const over = await run(["--json", "upload", "--on-conflict", "overwrite", path.join(dir, "a.txt"), "/c/clash/"]);
    expect(over.code, over.stderr).toBe(0);
    expect(over.json().files[0]).toMatchObject({ status: "uploaded", path: "/c/clash/a.txt" });
    const ls = await run(["--json", "ls", "/c/clash"]);
    expect(ls.json().items.map((e: { name: string }) => e.name)).toEqual(["a (1).txt", "a.txt", "b.txt", "new.txt"]);
    const trash = await run(["--json", "trash", "ls"]);
    expect(trash.json().items.map((e: { name: string }) => e.name)).toEqual(["a.txt"]);

    // Downloads: a different local file is a conflict too; rename keeps both.
    const dl = path.join(local, "clash-dl");
    await mkdir(dl, { recursive: true });
    await writeFile(path.join(dl, "a.txt"), "local edit\n");
    const conflict = await run(["download", "/c/clash/a.txt", dl]);
    expect(conflict.code).toBe(5);
    const keepBoth = await run(["--json", "download", "--on-conflict", "rename", "/c/clash/a.txt", dl]);
    expect(keepBoth.code).toBe(0);
    expect(keepBoth.json().files[0].local).toBe(path.join(dl, "a (1).txt"));
    const overwrite = await run(["download", "--on-conflict", "overwrite", "/c/clash/a.txt", dl]);
    expect(overwrite.code).toBe(0);
    expect(await fileSha256(path.join(dl, "a.txt"))).toBe(await fileSha256(path.join(dir, "a.txt")));
  });

  it("over quota is exit 7 and leaves nothing in the drive", async () => {
    const { run } = await loggedIn({ quotaBytes: 2 * MiB });
    const file = path.join(local, "too-big.bin");
    await writeFile(file, patternBytes(3 * MiB, 41));
    const res = await run(["upload", file, "/"]);
    expect(res.code).toBe(7);
    expect((await run(["--json", "ls", "/"])).json().items).toEqual([]);
  });
});
