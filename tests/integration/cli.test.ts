import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { FilestoreClient } from "~/client";
import { cli, cliHome, fileSha256, startApp, type App, type CliHome } from "../helpers/cli";
import { cleanupDriveUsers } from "../helpers/drive-files";
import { projectRoot } from "../helpers/processes";
import { createTestUser, type TestUser } from "../helpers/users";

// The CLI's tree and sharing commands (ls, mkdir, mv, cp, rm, trash, share, shares, unshare), their
// --json output and exit codes, --help everywhere, and the README's client script, run for real.

vi.setConfig({ testTimeout: 600_000, hookTimeout: 600_000 });

let app: App;
let local: string;
const users: TestUser[] = [];
const homes: CliHome[] = [];

beforeAll(async () => {
  app = await startApp();
  local = await mkdtemp(path.join(os.tmpdir(), "fs-cli-cmd-"));
}, 600_000);
afterAll(async () => {
  await app?.stop();
  await cleanupDriveUsers(users);
  for (const h of homes) await h.remove();
  if (local) await rm(local, { recursive: true, force: true });
});

async function loggedIn() {
  const user = await createTestUser();
  users.push(user);
  const home = await cliHome(app.baseUrl);
  homes.push(home);
  const run = (args: string[], input?: string) => cli(args, { env: home.env, input });
  const login = await run(["login", "-u", user.username, "--password-stdin"], user.password);
  expect(login.code, login.stderr).toBe(0);
  return { user, home, run };
}

const names = (r: { json(): { items: Array<{ name: string }> } }) => r.json().items.map((e) => e.name);

describe("filestore ls, mkdir, mv, cp, rm, trash", () => {
  it("works on drive paths, with --json results and the exit codes of each failure", async () => {
    const { run } = await loggedIn();
    const file = path.join(local, "note.txt");
    await writeFile(file, "a note\n");

    expect((await run(["mkdir", "-p", "/a/b/c", "/x"])).code).toBe(0);
    expect((await run(["mkdir", "-p", "/a/b/c"])).code).toBe(0); // -p: already there is fine
    const again = await run(["mkdir", "/x"]);
    expect(again.code).toBe(5);
    expect((await run(["mkdir", "/nope/y"])).code).toBe(4);
    expect((await run(["upload", file, "/a/"])).code).toBe(0);
    expect((await run(["mkdir", "-p", "/a/note.txt/z"])).code).toBe(5); // a file in the way

    expect(names(await run(["--json", "ls", "/a"]))).toEqual(["b", "note.txt"]);
    expect((await run(["ls", "/a"])).stdout).toBe("b/\nnote.txt\n");
    expect((await run(["--json", "ls", "/a/note.txt"])).json().items).toMatchObject([{ name: "note.txt", size: 7, kind: "file" }]);
    const missing = await run(["ls", "/does/not/exist"]);
    expect(missing.code).toBe(4);
    expect(missing.stderr).toBe("filestore: No such file or folder: /does/not/exist\n");

    // mv: rename in place, move into a folder, move and rename, refuse a taken name.
    expect((await run(["mv", "/a/note.txt", "/a/renamed.txt"])).code).toBe(0);
    expect((await run(["mv", "/a/renamed.txt", "/x"])).code).toBe(0);
    expect(names(await run(["--json", "ls", "/x"]))).toEqual(["renamed.txt"]);
    expect((await run(["mv", "/x/renamed.txt", "/a/b/c/final.txt"])).code).toBe(0);
    expect(names(await run(["--json", "ls", "/a/b/c"]))).toEqual(["final.txt"]);
    expect((await run(["upload", file, "/x/"])).code).toBe(0);
    expect((await run(["mv", "/x/note.txt", "/a/b/c/final.txt"])).code).toBe(5);
    expect((await run(["mv", "/x/note.txt"])).code).toBe(2);
    expect((await run(["mv", "/nothing", "/x"])).code).toBe(4);

    // cp: no bytes copied (same SHA-256), into a folder or to a new name; a taken name is a conflict.
    expect((await run(["cp", "/a/b", "/x"])).code).toBe(0);
    expect((await run(["cp", "/x/note.txt", "/x/copy.txt"])).code).toBe(0);
    const x = (await run(["--json", "ls", "/x"])).json().items as Array<{ name: string; sha256: string | null }>;
    expect(x.map((e) => e.name)).toEqual(["b", "copy.txt", "note.txt"]);
    expect(x[1]!.sha256).toBe(x[2]!.sha256);
    expect(names(await run(["--json", "ls", "/x/b/c"]))).toEqual(["final.txt"]);
    expect((await run(["cp", "/x/note.txt", "/x/copy.txt"])).code).toBe(5);

    // rm: folders need -r; everything goes to the trash; restore by name; empty for good.
    const noR = await run(["rm", "/x/b"]);
    expect(noR.code).toBe(2);
    expect(noR.stderr).toMatch(/use rm -r/);
    expect((await run(["rm", "-r", "/x/b", "/x/copy.txt"])).code).toBe(0);
    expect(names(await run(["--json", "ls", "/x"]))).toEqual(["note.txt"]);
    const trash = await run(["trash", "ls"]);
    expect(trash.stdout).toMatch(/^ID\s+SIZE\s+TRASHED\s+PURGED\s+NAME$/m);
    expect(trash.stdout).toMatch(/\s7 B\s.*\scopy\.txt$/m);
    expect(trash.stdout).toMatch(/\sb\/$/m);
    const restored = await run(["--json", "trash", "restore", "copy.txt"]);
    expect(restored.code, restored.stderr).toBe(0);
    expect(restored.json().restored[0].path).toBe("/x/copy.txt");
    expect((await run(["trash", "restore", "nothing-here"])).code).toBe(4);
    const emptied = await run(["--json", "trash", "empty"]);
    expect(emptied.code).toBe(0);
    expect(emptied.json()).toMatchObject({ items: 1, entries: 3 });
    expect((await run(["--json", "trash", "ls"])).json().items).toEqual([]);
  });

  it("has --help for every command and rejects bad usage with exit code 2", async () => {
    const env = (await cliHome(app.baseUrl)).env;
    const commands = ["login", "signup", "logout", "whoami", "ls", "mkdir", "mv", "cp", "rm", "trash", "trash ls", "trash restore", "trash empty", "upload", "download", "uploads", "uploads abort", "share", "shares", "unshare", "save"];
    const helps = await Promise.all(commands.map((c) => cli([...c.split(" "), "--help"], { env })));
    helps.forEach((h, i) => {
      expect(h.code, commands[i]).toBe(0);
      expect(h.stdout, commands[i]).toMatch(new RegExp(`^Usage: filestore ${commands[i]}`));
    });
    const top = await cli(["--help"], { env });
    expect(top.stdout).toMatch(/Exit codes: 0 ok/);
    expect((await cli([], { env })).code).toBe(2);
    expect((await cli(["frobnicate"], { env })).code).toBe(2);
    expect((await cli(["upload", "--on-conflict", "maybe", "x"], { env })).code).toBe(2);
    expect((await cli(["upload", "-j", "0", "x"], { env })).code).toBe(2);
    expect((await cli(["ls"], { env: { ...env, FILESTORE_URL: "" } })).code).toBe(2); // no server at all
  });
});

describe("filestore share, shares, unshare", () => {
  it("creates links with a password, expiry and download limit, lists them, and revokes them by URL or path", async () => {
    const { run } = await loggedIn();
    const file = path.join(local, "shared.txt");
    await writeFile(file, "shared bytes\n");
    expect((await run(["upload", file, "/pub/"])).code).toBe(0);

    const created = await run(["--json", "share", "/pub/shared.txt", "--password-stdin", "--expires", "7d", "--max-downloads", "3"], "s3cret-pw\n");
    expect(created.code, created.stderr).toBe(0);
    const link = created.json();
    expect(link.url).toBe(`${app.baseUrl}/s/${link.token}`);
    expect(new Date(link.expiresAt).getTime()).toBeGreaterThan(Date.now() + 6.9 * 86_400_000);
    const human = await run(["share", "/pub"]);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(new RegExp(`^${app.baseUrl}/s/[A-Za-z0-9_-]{43}\\n$`));

    const listed = await run(["--json", "shares"]);
    expect(listed.json().shares).toMatchObject([
      { entryName: "pub", kind: "folder", hasPassword: false, state: "active" },
      { entryName: "shared.txt", maxDownloads: 3, downloadCount: 0, hasPassword: true, state: "active", url: link.url },
    ]);
    expect((await run(["shares"])).stdout).toMatch(/^URL\s+STATE\s+DOWNLOADS\s+EXPIRES\s+PASSWORD\s+NAME$/m);

    // The link works for anyone with the password, and not without it.
    const visitor = new FilestoreClient({ url: app.baseUrl });
    await expect(visitor.call((t) => t.share.open.mutate({ token: link.token }))).rejects.toMatchObject({ code: "FORBIDDEN" });
    await expect(visitor.call((t) => t.share.open.mutate({ token: link.token, password: "s3cret-pw" }))).resolves.toMatchObject({
      share: { name: "shared.txt", maxDownloads: 3 },
    });

    // Someone else saves the link into their own drive (no bytes copied).
    const other = await loggedIn();
    const saved = await other.run(["--json", "save", link.url, "/", "--password-stdin"], "s3cret-pw");
    expect(saved.code, saved.stderr).toBe(0);
    expect(saved.json().saved).toMatchObject({ path: "/shared.txt", size: 13 });
    expect((await other.run(["save", link.url, "/", "--password-stdin"], "wrong-pw")).code).toBe(3);

    expect((await run(["unshare", link.url])).code).toBe(0);
    await expect(visitor.call((t) => t.share.open.mutate({ token: link.token, password: "s3cret-pw" }))).rejects.toMatchObject({ code: "NOT_FOUND" });
    expect((await run(["unshare", "/pub"])).code).toBe(0);
    expect((await run(["--json", "shares"])).json().shares).toEqual([]);
    expect((await run(["unshare", link.token])).code).toBe(4);
    expect((await run(["unshare", "/pub"])).code).toBe(4);
    expect((await run(["share", "/pub", "--expires", "yesterday"])).code).toBe(2);
    expect((await run(["share", "/pub", "--max-downloads", "0"])).code).toBe(2);
  });
});

describe("filestore uploads", () => {
  it("lists open upload sessions and aborts them", async () => {
    const { user, run } = await loggedIn();
    const script = new FilestoreClient({ url: app.baseUrl });
    await script.signIn({ username: user.username, password: user.password });
    const open = await script.call((t) => t.upload.init.mutate({ name: "half.bin", size: 3 * 1024 * 1024, chunkSize: 1024 * 1024 }));
    const listed = await run(["--json", "uploads"]);
    expect(listed.json().uploads).toMatchObject([{ uploadId: open.uploadId, name: "half.bin", size: 3 * 1024 * 1024, receivedCount: 0 }]);
    expect((await run(["uploads"])).stdout).toMatch(new RegExp(`^${open.uploadId}\\s+3\\.00 MiB\\s+0%\\s.*half\\.bin$`, "m"));
    expect((await run(["uploads", "abort"])).code).toBe(2);
    expect((await run(["uploads", "abort", "--all"])).code).toBe(0);
    expect((await run(["--json", "uploads"])).json().uploads).toEqual([]);
    expect((await run(["uploads", "abort", open.uploadId])).code).toBe(4);
  });
});

describe("the README's client script", () => {
  it("runs as printed: signs in, uploads, lists with a typed call, downloads verified, signs out", async () => {
    const user = await createTestUser();
    users.push(user);
    const readme = await readFile(path.join(projectRoot, "README.md"), "utf8");
    const block = /<!-- client-example:start -->\n```ts\n([\s\S]*?)```\n<!-- client-example:end -->/.exec(readme)?.[1];
    expect(block, "README has the client example").toBeTruthy();
    expect(block!.trim().split("\n").filter((l) => l.trim()).length).toBeLessThanOrEqual(11);
    // Saved in the checkout and run with `npx tsx`, exactly as the README says.
    const script = path.join(projectRoot, `.readme-example-${process.pid}-${Date.now()}.ts`);
    const dir = await mkdtemp(path.join(os.tmpdir(), "fs-readme-"));
    const notes = path.join(dir, "notes.txt");
    try {
      await writeFile(script, block!);
      await writeFile(notes, "quarterly numbers\n");
      const child = spawn("npx", ["tsx", script, notes], {
        cwd: projectRoot,
        env: { PATH: process.env.PATH ?? "", HOME: dir, FILESTORE_URL: app.baseUrl, FS_USER: user.username, FS_PASSWORD: user.password } as unknown as NodeJS.ProcessEnv,
      });
      let out = "";
      let err = "";
      child.stdout.on("data", (b: Buffer) => (out += b));
      child.stderr.on("data", (b: Buffer) => (err += b));
      const code = await new Promise<number | null>((resolve) => child.once("close", resolve));
      expect(code, `${out}\n${err}`).toBe(0);
      const sha = await fileSha256(notes);
      expect(out).toBe(`notes.txt: 18 bytes, sha256 ${sha}\nfile notes.txt 18\n`);
      expect(await fileSha256(`${notes}.copy`)).toBe(sha);
    } finally {
      await rm(script, { force: true });
      await rm(dir, { recursive: true, force: true });
    }
  });
});
