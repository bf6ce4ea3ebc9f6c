import { readdir, readFile, stat, writeFile } from "node:fs/promises";
import { mkdtemp, rm } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { FilestoreClient } from "~/client";
import { uploadFile } from "~/client/upload";
import { cli, cliHome, fileSha256, startApp, startCli, startCountingProxy, type App, type CliHome, type CountingProxy } from "../helpers/cli";
import { cleanupDriveUsers } from "../helpers/drive-files";
import { patternBytes } from "../helpers/upload-client";
import { createTestUser, type TestUser } from "../helpers/users";

// Signing in from the command line and staying signed in: the token pair in a private config file,
// refreshes that never present a refresh token twice (not across parallel requests, not across two
// CLI processes), an access token that expires in the middle of a long upload, logout, and the
// exit codes of authentication failures. The app runs with 30 s access tokens (the least allowed).

vi.setConfig({ testTimeout: 600_000, hookTimeout: 600_000 });

const MiB = 1024 * 1024;
let app: App;
let proxy: CountingProxy;
let local: string;
const users: TestUser[] = [];
const homes: CliHome[] = [];

beforeAll(async () => {
  // A Redis prefix of its own: the sign-in throttle counts failures per address (127.0.0.1 here).
  app = await startApp({ ACCESS_TOKEN_TTL_SECONDS: "30", SIGNIN_MAX_FAILURES: "3", REDIS_PREFIX: `${process.env.REDIS_PREFIX}cli-auth:` });
  proxy = await startCountingProxy(app.baseUrl);
  local = await mkdtemp(path.join(os.tmpdir(), "fs-cli-auth-"));
}, 600_000);
afterAll(async () => {
  await proxy?.close();
  await app?.stop();
  await cleanupDriveUsers(users);
  for (const h of homes) await h.remove();
  if (local) await rm(local, { recursive: true, force: true });
});

async function newUser() {
  const user = await createTestUser();
  users.push(user);
  const home = await cliHome(proxy.url);
  homes.push(home);
  const run = (args: string[], input?: string) => cli(args, { env: home.env, input });
  const login = () => run(["login", "-u", user.username, "--password-stdin"], `${user.password}\n`);
  return { user, home, run, login };
}

async function storedConfig(home: CliHome) {
  const dir = path.join(home.config, "filestore", "servers");
  const [name] = await readdir(dir);
  const file = path.join(dir, name!);
  return { file, dir, json: JSON.parse(await readFile(file, "utf8")) as { url: string; username: string; accessToken: string; refreshToken: string; accessExpiresAt: string } };
}

describe("filestore login, whoami, logout", () => {
  it("keeps the token pair in a 0600 file under $XDG_CONFIG_HOME/filestore, per server; logout ends the sign-in on the server", async () => {
    const { user, home, run, login } = await newUser();
    const res = await login();
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toContain(`Logged in to ${proxy.url} as ${user.username}`);

    const { file, dir, json } = await storedConfig(home);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    expect((await stat(path.join(home.config, "filestore"))).mode & 0o777).toBe(0o700);
    expect(json).toMatchObject({ url: proxy.url, username: user.username });
    expect(JSON.parse(await readFile(path.join(home.config, "filestore", "config.json"), "utf8"))).toEqual({ defaultServer: proxy.url });

    const who = await run(["--json", "whoami"]);
    expect(who.code).toBe(0);
    expect(who.json()).toMatchObject({ username: user.username, usedBytes: 0, quotaBytes: expect.any(Number) });
    const human = await run(["whoami"]);
    expect(human.stdout).toMatch(new RegExp(`^${user.username} on ${proxy.url}\\nquota: 0 B of \\d+(\\.\\d+)? GiB used \\(0\\.0%\\), \\d+(\\.\\d+)? GiB free\\n$`));

    // A second server gets a file of its own; FILESTORE_URL / --url pick which one is used.
    const otherHome = { ...home.env, FILESTORE_URL: app.baseUrl };
    expect((await cli(["login", "-u", user.username, "--password-stdin"], { env: otherHome, input: user.password })).code).toBe(0);
    expect((await readdir(dir)).length).toBe(2);
    expect((await run(["--url", app.baseUrl, "whoami"])).code).toBe(0);

    const out = await run(["logout"]);
    expect(out.code, out.stderr).toBe(0);
    expect((await readdir(dir)).length).toBe(1);
    // The refresh token is dead on the server, not only forgotten here.
    const client = new FilestoreClient({ url: proxy.url });
    await expect(client.trpc.auth.refresh.mutate({ refreshToken: json.refreshToken })).rejects.toMatchObject({ data: { code: "UNAUTHORIZED" } });
    const after = await run(["whoami"]);
    expect(after.code).toBe(3);
    expect(after.stderr).toMatch(/Not logged in/);
  });

  it("usage, authentication and network failures have their own exit codes", async () => {
    const { user, home } = await newUser();
    const env = home.env;
    // No terminal and no --password-stdin: usage.
    expect((await cli(["login", "-u", user.username], { env })).code).toBe(2);
    // Wrong password: auth.
    const wrong = await cli(["login", "-u", user.username, "--password-stdin"], { env, input: "not-the-password" });
    expect(wrong.code).toBe(3);
    // A server that hangs up on every connection: network.
    const dead = net.createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => dead.listen(0, "127.0.0.1", () => resolve()));
    const port = (dead.address() as net.AddressInfo).port;
    try {
      const down = await cli(["login", "--url", `http://127.0.0.1:${port}`, "-u", user.username, "--password-stdin"], { env, input: user.password });
      expect(down.code, `${down.stdout}\n${down.stderr}`).toBe(6);
      expect(down.stderr).toMatch(/Cannot reach http:\/\/127\.0\.0\.1:\d+ \(ECONNRESET\)/);
    } finally {
      dead.close();
    }
    // --json errors are JSON on stderr.
    const json = await cli(["--json", "whoami"], { env });
    expect(json.code).toBe(3);
    expect(JSON.parse(json.stderr)).toMatchObject({ error: { code: "UNAUTHORIZED", exitCode: 3 } });
  });
});

describe("refreshing the access token", () => {
  it("an access token the server refuses is refreshed once and the command goes on", async () => {
    const { home, run, login } = await newUser();
    expect((await login()).code).toBe(0);
    const { file, json } = await storedConfig(home);
    await writeFile(file, JSON.stringify({ ...json, accessToken: `${json.accessToken.slice(0, -4)}AAAA` }), { mode: 0o600 });
    const before = proxy.refreshTokens.length;
    const who = await run(["whoami"]);
    expect(who.code, who.stderr).toBe(0);
    expect(proxy.refreshTokens.slice(before)).toEqual([json.refreshToken]);
    const now = (await storedConfig(home)).json;
    expect(now.refreshToken).not.toBe(json.refreshToken);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
  });

  it("two commands started together with an expired token refresh once between them (the sign-in survives)", async () => {
    const { home, run, login } = await newUser();
    expect((await login()).code).toBe(0);
    const { file, json } = await storedConfig(home);
    // As if the access token had expired: both processes must refresh before their first call.
    await writeFile(file, JSON.stringify({ ...json, accessExpiresAt: new Date(Date.now() - 1000).toISOString() }), { mode: 0o600 });
    const before = proxy.refreshTokens.length;
    const [a, b] = await Promise.all([run(["whoami"]), run(["ls", "/"])]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    const presented = proxy.refreshTokens.slice(before);
    expect(presented).toEqual([json.refreshToken]);
    expect((await run(["whoami"])).code).toBe(0);
  });

  it("an access token that expires in the middle of long uploads: the CLI refreshes ahead of time, a script's client after a 401 — once for all parallel chunks", async () => {
    // The CLI (proactive refresh) and a script using src/client with a clock it cannot trust
    // (it believes the token lasts an hour, so only the server's 401 tells): both upload 36 MiB
    // in 1 MiB chunks, 4 at a time, slowed to last past the 30 s lifetime of their access token.
    const cliUser = await newUser();
    expect((await cliUser.login()).code).toBe(0);
    const scriptUser = await createTestUser();
    users.push(scriptUser);
    const script = new FilestoreClient({ url: proxy.url });
    const pair = await script.signIn({ username: scriptUser.username, password: scriptUser.password });
    await script.tokens.set({ ...pair, accessExpiresAt: new Date(Date.now() + 3600_000) });

    const size = 36 * MiB;
    const file = path.join(local, "long.bin");
    await writeFile(file, patternBytes(size, 5));
    const before = proxy.refreshTokens.length;
    const unauthorizedBefore = proxy.unauthorized;
    proxy.throttle = 2 * MiB; // both uploads together: ~36 s
    const started = Date.now();
    try {
      const viaCli = startCli(["--json", "upload", "--chunk-size", "1", "-j", "4", "--no-instant", file, "/"], { env: cliUser.home.env });
      const viaScript = uploadFile(script, file, { chunkSize: MiB, parallel: 4, instant: false });
      const [cliRun, scriptResult] = await Promise.all([viaCli.done, viaScript]);
      expect(cliRun.code, cliRun.stderr).toBe(0);
      expect(cliRun.json().files[0]).toMatchObject({ status: "uploaded", sentBytes: size });
      expect(scriptResult.file).toMatchObject({ size, sha256: await fileSha256(file) });
    } finally {
      proxy.throttle = 0;
    }
    expect(Date.now() - started).toBeGreaterThan(31_000);
    const presented = proxy.refreshTokens.slice(before);
    // Every refresh token was presented once (a second use would have ended the sign-in)…
    expect(new Set(presented).size).toBe(presented.length);
    // …the script refreshed exactly once although 4 chunks met the expired token together…
    expect(script.tokens.refreshCount).toBe(1);
    expect(proxy.unauthorized - unauthorizedBefore).toBeGreaterThanOrEqual(1);
    // …and both sign-ins are still alive.
    expect((await cliUser.run(["whoami"])).code).toBe(0);
    await expect(script.me()).resolves.toMatchObject({ username: scriptUser.username });
  });
});

describe("sign-in throttling", () => {
  it("answers exit code 9 with the server's wait once sign-ins are throttled", async () => {
    const { user, home } = await newUser();
    const attempt = () => cli(["login", "-u", user.username, "--password-stdin"], { env: home.env, input: "wrong-password" });
    const codes: number[] = [];
    for (let i = 0; i < 4; i++) codes.push((await attempt()).code ?? -1);
    expect(codes.slice(0, 2)).toEqual([3, 3]);
    const last = await attempt();
    expect(last.code).toBe(9);
    expect(last.stderr).toMatch(/try again|retry|too many/i);
  });
});
