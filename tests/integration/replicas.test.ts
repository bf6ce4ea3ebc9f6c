import { randomBytes } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { spawnTsx, type Spawned } from "../helpers/processes";
import { startPrivateRedis } from "../helpers/redis-server";
import { useReplicaPair } from "../helpers/replica-pair";
import { startTcpProxy } from "../helpers/tcp-proxy";

// Read replicas against a real MariaDB primary/replica pair (scripts/mysql-replica.sh): reads land
// on the replica (counted per server by performance_schema), a user sees their own uploads, renames
// and deletes at once while the replica's SQL thread is stopped and someone else's view of a shared
// folder lags, token rotation and share download limits stay exact under lag, a replica that is
// gone or too far behind is skipped and comes back by itself, and /api/health reports it.
//
// The app reaches the replica through a TCP proxy, so "the replica is gone" is a cut proxy and the
// pair itself keeps running. Redis is a private one, so it can be stopped.

// Long enough that the "stopped replica" tests finish inside it on a loaded machine (the replica
// stays in service, so the visitor reads it), short enough to watch it become "lagging".
const MAX_LAG_SECONDS = 10;
const PROBE_MS = 200;
/** How long positions are "unknown" after Redis trouble or a fresh Redis (db/causal.ts). */
const WINDOW_MS = MAX_LAG_SECONDS * 1000 + 2 * PROBE_MS;
const pair = await useReplicaPair("reads");
const privateRedis = await startPrivateRedis();
afterAll(() => privateRedis.stop());
const proxy = await startTcpProxy({ host: "127.0.0.1", port: pair.replicaPort });
afterAll(() => proxy.close());
const viaProxy = new URL(pair.replicaUrl);
viaProxy.port = String(proxy.port);
Object.assign(process.env, {
  DATABASE_URL: pair.primaryUrl,
  DATABASE_REPLICA_URLS: viaProxy.toString(),
  DATABASE_POOL_SIZE: "5",
  REDIS_URL: privateRedis.url,
  REPLICA_PROBE_INTERVAL_MS: String(PROBE_MS),
  REPLICA_TIMEOUT_MS: "1000",
  REPLICA_CAUSAL_WAIT_MS: "300",
  REPLICA_MAX_LAG_SECONDS: String(MAX_LAG_SECONDS),
});

// The code under test reads ~/env: imported after the environment above is set.
const { createTestUser, callerFor } = await import("../helpers/users");
const { startHttpServer } = await import("../helpers/http-server");
const { postFiles } = await import("../helpers/upload-client");
const { checkHealth } = await import("~/server/services/health");
const { refreshSession } = await import("~/server/auth/sessions");
const { shareDownload } = await import("~/server/services/shares/share-download");
const { probeReplicas } = await import("~/server/db/replicas");
const { metrics } = await import("~/server/metrics");

const { positionFor } = await import("~/server/db/causal");
const { redis } = await import("~/server/redis/client");

const http = await startHttpServer();
afterAll(() => http.close());

// A new Redis holds no positions: until the window has passed, users' reads go to the primary.
expect(await positionFor("nobody")).toBeNull();
await new Promise((r) => setTimeout(r, WINDOW_MS + 100));
expect(await positionFor("nobody")).toEqual(new Map());

async function readsCounted(target: string, why: string): Promise<number> {
  const m = (await metrics().dbReads.get()).values.find((v) => v.labels.target === target && v.labels.why === why);
  return m?.value ?? 0;
}

async function replicaState() {
  await probeReplicas();
  const { ok, report } = await checkHealth();
  expect(ok).toBe(true);
  expect(report.replicas).toHaveLength(1);
  return report.replicas![0]!;
}

async function until<T>(what: string, fn: () => Promise<T>, done: (v: T) => boolean, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (done(v)) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function withSqlThreadStopped<T>(fn: () => Promise<T>): Promise<T> {
  await pair.replica.query("STOP SLAVE SQL_THREAD");
  try {
    return await fn();
  } finally {
    await pair.replica.query("START SLAVE");
  }
}

const names = (page: { items: Array<{ name: string }> }) => page.items.map((i) => i.name).sort();

describe("read replicas", { timeout: 120_000 }, () => {
  it("sends the read-heavy procedures to the replica (counted per server)", async () => {
    const a = await createTestUser();
    const folder = await a.caller.file.mkdir({ parentId: null, name: "docs" });
    const up = await postFiles(http.baseUrl, a.authHeaders, [{ name: "a.txt", data: Buffer.from("hello") }], folder.id);
    expect(up.status).toBe(201);
    const file = (await a.caller.file.list({ parentId: folder.id })).items[0]!;
    await a.caller.share.create({ id: folder.id });
    await pair.caughtUp();
    await until("the replica in service", replicaState, (r) => r.state === "ok");

    const before = {
      replicaEntry: await pair.rowReads("replica", "Entry"),
      primaryEntry: await pair.rowReads("primary", "Entry"),
      replicaShare: await pair.rowReads("replica", "Share"),
      primaryShare: await pair.rowReads("primary", "Share"),
      replicaUser: await pair.rowReads("replica", "User"),
      primaryUser: await pair.rowReads("primary", "User"),
    };
    for (let i = 0; i < 10; i++) {
      expect(names(await a.caller.file.list({ parentId: folder.id }))).toEqual(["a.txt"]);
      expect(names(await a.caller.file.list({ q: "a.t" }))).toEqual(["a.txt"]);
      expect((await a.caller.file.get({ id: file.id })).name).toBe("a.txt");
      expect((await a.caller.file.path({ id: file.id })).map((e) => e.name)).toEqual(["docs", "a.txt"]);
      expect((await a.caller.trash.list()).items).toEqual([]);
      expect(await a.caller.share.list()).toHaveLength(1);
      expect((await a.caller.user.me()).usedBytes).toBe(5);
    }
    const after = {
      replicaEntry: await pair.rowReads("replica", "Entry"),
      primaryEntry: await pair.rowReads("primary", "Entry"),
      replicaShare: await pair.rowReads("replica", "Share"),
      primaryShare: await pair.rowReads("primary", "Share"),
      replicaUser: await pair.rowReads("replica", "User"),
      primaryUser: await pair.rowReads("primary", "User"),
    };
    // Every call reads at least one Entry row (folder check, list, search, get, path).
    expect(after.replicaEntry - before.replicaEntry).toBeGreaterThanOrEqual(10 * 5);
    expect(after.primaryEntry - before.primaryEntry).toBe(0);
    expect(after.replicaShare - before.replicaShare).toBeGreaterThanOrEqual(10);
    expect(after.primaryShare - before.primaryShare).toBe(0);
    expect(after.replicaUser - before.replicaUser).toBeGreaterThanOrEqual(10);
    expect(after.primaryUser - before.primaryUser).toBe(0);

    // An own-file download looks the file up on the replica too.
    const replicaBefore = await pair.rowReads("replica", "Entry");
    const got = await fetch(`${http.baseUrl}/api/files/${file.id}/content`, { headers: a.authHeaders });
    expect(got.status).toBe(200);
    expect(await got.text()).toBe("hello");
    expect(await pair.rowReads("replica", "Entry")).toBeGreaterThan(replicaBefore);
  });

  it("shows a user's own upload, rename and delete at once while the replica is stopped; another user's view of the shared folder lags", async () => {
    const owner = await createTestUser();
    const folder = await owner.caller.file.mkdir({ parentId: null, name: "shared" });
    expect((await postFiles(http.baseUrl, owner.authHeaders, [{ name: "keep.txt", data: Buffer.from("k") }, { name: "old-name.txt", data: Buffer.from("r") }, { name: "gone.txt", data: Buffer.from("g") }], folder.id)).status).toBe(201);
    const { token } = await owner.caller.share.create({ id: folder.id });
    const visitor = await callerFor({});
    await pair.caughtUp();
    await until("the replica in service", replicaState, (r) => r.state === "ok");
    expect((await visitor.share.open({ token })).items!.map((i) => i.name).sort()).toEqual(["gone.txt", "keep.txt", "old-name.txt"]);

    const timeoutsBefore = await readsCounted("primary", "causal-timeout");
    const visitorReplicaBefore = await readsCounted("replica", "visitor");
    await withSqlThreadStopped(async () => {
      const items = (await owner.caller.file.list({ parentId: folder.id })).items;
      const byName = new Map(items.map((i) => [i.name, i.id]));
      const up = await postFiles(http.baseUrl, owner.authHeaders, [{ name: "new.txt", data: Buffer.from("new") }], folder.id);
      expect(up.status).toBe(201);
      expect(names(await owner.caller.file.list({ parentId: folder.id }))).toEqual(["gone.txt", "keep.txt", "new.txt", "old-name.txt"]);
      await owner.caller.file.rename({ id: byName.get("old-name.txt")!, name: "renamed.txt" });
      expect(names(await owner.caller.file.list({ parentId: folder.id }))).toEqual(["gone.txt", "keep.txt", "new.txt", "renamed.txt"]);
      await owner.caller.file.delete({ ids: [byName.get("gone.txt")!] });
      expect(names(await owner.caller.file.list({ parentId: folder.id }))).toEqual(["keep.txt", "new.txt", "renamed.txt"]);
      expect((await owner.caller.trash.list()).items.map((i) => i.name)).toEqual(["gone.txt"]);

      // The visitor reads the replica, which has applied none of it: the old folder.
      const seen = (await visitor.share.open({ token })).items!.map((i) => i.name).sort();
      expect(seen).toEqual(["gone.txt", "keep.txt", "old-name.txt"]);
      const state = await replicaState();
      expect(state.state).toBe("ok");
      expect(state.behindTransactions).toBeGreaterThan(0);
    });
    // The owner's reads after their writes could not wait on the stopped replica: the primary.
    expect(await readsCounted("primary", "causal-timeout")).toBeGreaterThan(timeoutsBefore);
    expect(await readsCounted("replica", "visitor")).toBeGreaterThan(visitorReplicaBefore);
    // Replication resumes and the visitor catches up.
    await until(
      "the visitor's view to catch up",
      async () => (await visitor.share.open({ token })).items!.map((i) => i.name).sort(),
      (v) => JSON.stringify(v) === JSON.stringify(["keep.txt", "new.txt", "renamed.txt"]),
    );
  });

  it("carries a user's write position to another web instance through Redis", async () => {
    // Instance B: its own process (no memory of A's writes), same database, replica and Redis.
    const b: Spawned = spawnTsx("tests/helpers/raw-server-main.ts");
    try {
      const port = (await b.waitFor(/^listening \d+/, 120_000)).split(" ")[1];
      const onB = `http://127.0.0.1:${port}`;
      const a = await createTestUser();
      expect((await postFiles(http.baseUrl, a.authHeaders, [{ name: "old.txt", data: Buffer.from("old") }])).status).toBe(201);
      const old = (await a.caller.file.list()).items[0]!;
      await pair.caughtUp();
      await until("the replica in service", replicaState, (r) => r.state === "ok");
      // Caught up: B looks the file up on the replica.
      const before = await pair.rowReads("replica", "Entry");
      expect(await (await fetch(`${onB}/api/files/${old.id}/content`, { headers: a.authHeaders })).text()).toBe("old");
      expect(await pair.rowReads("replica", "Entry")).toBeGreaterThan(before);

      await withSqlThreadStopped(async () => {
        // Uploaded through A (this process); downloaded at once through B, which only knows the
        // position from Redis: it waits on the replica, times out, and reads the primary.
        const up = await postFiles(http.baseUrl, a.authHeaders, [{ name: "new.txt", data: Buffer.from("new") }]);
        expect(up.status).toBe(201);
        const fresh = (await a.caller.file.list()).items.find((i) => i.name === "new.txt")!;
        const got = await fetch(`${onB}/api/files/${fresh.id}/content`, { headers: a.authHeaders });
        expect(got.status).toBe(200);
        expect(await got.text()).toBe("new");
      });
      const scraped = await (await fetch(`${onB}/api/metrics`)).text();
      expect(scraped).toMatch(/filestore_db_reads_total\{[^}]*target="primary"[^}]*why="causal-timeout"[^}]*\} [1-9]/);
      expect(scraped).toMatch(/filestore_db_reads_total\{[^}]*target="replica"[^}]*why="caught-up"[^}]*\} [1-9]/);
      expect(scraped).not.toMatch(/why="position-unknown"/);
    } finally {
      await b.stop("SIGKILL");
    }
  });

  it("keeps token rotation and share download limits exact under lag", async () => {
    const owner = await createTestUser();
    const up = await postFiles(http.baseUrl, owner.authHeaders, [{ name: "once.bin", data: randomBytes(64) }]);
    expect(up.status).toBe(201);
    const fileId = (await owner.caller.file.list()).items.find((i) => i.name === "once.bin")!.id;
    await pair.caughtUp();
    await withSqlThreadStopped(async () => {
      // Rotation: each new token works at once, the old one is reuse (revokes the sign-in).
      const first = await refreshSession(owner.refreshToken);
      const second = await refreshSession(first.refreshToken);
      await expect(refreshSession(first.refreshToken)).rejects.toMatchObject({ code: "UNAUTHORIZED" });
      await expect(refreshSession(second.refreshToken)).rejects.toMatchObject({ code: "UNAUTHORIZED" });

      // A link made while the replica is stopped opens (the replica does not know it: asked on the
      // primary) and its one allowed download is counted exactly once.
      const { token } = await owner.caller.share.create({ id: fileId, maxDownloads: 1 });
      const visitor = await callerFor({});
      expect((await visitor.share.open({ token })).entry.name).toBe("once.bin");
      const firstDl = await shareDownload(token, null, { cookieHeader: null });
      await firstDl.onDelivery({ counted: true });
      const secondDl = await shareDownload(token, null, { cookieHeader: null });
      await expect(secondDl.onDelivery({ counted: true })).rejects.toMatchObject({ code: "NOT_FOUND" });
      const [{ downloadCount }] = await pair.primary.query(`SELECT downloadCount FROM \`${pair.database}\`.Share WHERE token = ?`, [token]);
      expect(Number(downloadCount)).toBe(1);
      // Over HTTP too: the used-up link answers 404 although the replica still has downloadCount 0.
      const res = await fetch(`${http.baseUrl}/api/s/${token}/content`);
      expect(res.status).toBe(404);
    });
  });

  it("skips a replica further behind than the bound and uses it again once it catches up", async () => {
    const owner = await createTestUser();
    const folder = await owner.caller.file.mkdir({ parentId: null, name: "lagged" });
    const { token } = await owner.caller.share.create({ id: folder.id });
    const visitor = await callerFor({});
    await pair.caughtUp();
    await withSqlThreadStopped(async () => {
      await owner.caller.file.mkdir({ parentId: folder.id, name: "made-while-stopped" });
      const lagging = await until("the replica to be lagging", replicaState, (r) => r.state === "lagging", (MAX_LAG_SECONDS + 10) * 1000);
      expect(lagging.lagSeconds).toBeGreaterThanOrEqual(MAX_LAG_SECONDS);
      expect(lagging.behindTransactions).toBeGreaterThan(0);
      // Health stays ready; the visitor now reads the primary and sees the new folder.
      expect((await checkHealth()).ok).toBe(true);
      expect((await visitor.share.open({ token })).items!.map((i) => i.name)).toEqual(["made-while-stopped"]);
    });
    const back = await until("the replica back in service", replicaState, (r) => r.state === "ok");
    expect(back.lagSeconds).toBe(0);
    expect(back.behindTransactions).toBe(0);
  });

  it("keeps every procedure working while the replica is unreachable, and uses it again when it returns", async () => {
    const a = await createTestUser();
    const folder = await a.caller.file.mkdir({ parentId: null, name: "f" });
    expect((await postFiles(http.baseUrl, a.authHeaders, [{ name: "x.txt", data: Buffer.from("x") }], folder.id)).status).toBe(201);
    const { token } = await a.caller.share.create({ id: folder.id });
    const visitor = await callerFor({});
    await pair.caughtUp();
    await until("the replica in service", replicaState, (r) => r.state === "ok");

    await proxy.cut();
    try {
      // No probe has noticed yet: the first reads find out themselves and fall back.
      const file = (await a.caller.file.list({ parentId: folder.id })).items[0]!;
      expect(file.name).toBe("x.txt");
      expect((await a.caller.file.list({ q: "x." })).items.map((i) => i.name)).toEqual(["x.txt"]);
      expect((await a.caller.file.get({ id: file.id })).name).toBe("x.txt");
      expect((await a.caller.file.path({ id: file.id })).map((e) => e.name)).toEqual(["f", "x.txt"]);
      expect((await a.caller.user.me()).username).toBe(a.username);
      expect(await a.caller.share.list()).toHaveLength(1);
      expect((await visitor.share.open({ token })).items!.map((i) => i.name)).toEqual(["x.txt"]);
      const dl = await fetch(`${http.baseUrl}/api/files/${file.id}/content`, { headers: a.authHeaders });
      expect(await dl.text()).toBe("x");
      const shared = await fetch(`${http.baseUrl}/api/s/${token}/content?id=${file.id}`);
      expect(await shared.text()).toBe("x");
      const { url } = await a.caller.file.downloadUrl({ id: file.id });
      expect(await (await fetch(new URL(new URL(url).pathname + new URL(url).search, http.baseUrl))).text()).toBe("x");
      await a.caller.file.rename({ id: file.id, name: "y.txt" });
      await a.caller.file.delete({ ids: [file.id] });
      expect((await a.caller.trash.list()).items.map((i) => i.name)).toEqual(["y.txt"]);
      expect((await a.caller.file.list({ parentId: folder.id })).items).toEqual([]);

      const down = await replicaState();
      expect(down.state).toBe("down");
      expect(down.reason).toBeTruthy();
    } finally {
      await proxy.restore();
    }
    await until("the replica back in service", replicaState, (r) => r.state === "ok");
    const before = await pair.rowReads("replica", "Entry");
    await a.caller.file.list({ parentId: folder.id });
    expect(await pair.rowReads("replica", "Entry")).toBeGreaterThan(before);
  });

  it("reads a user's data from the primary while Redis is away (positions unknown), and from the replica after", async () => {
    const a = await createTestUser();
    const folder = await a.caller.file.mkdir({ parentId: null, name: "r" });
    const file = await a.caller.file.mkdir({ parentId: folder.id, name: "before" });
    await pair.caughtUp();
    await until("the replica in service", replicaState, (r) => r.state === "ok");
    const unknownBefore = await readsCounted("primary", "position-unknown");
    await withSqlThreadStopped(async () => {
      await privateRedis.kill();
      try {
        // The rename's position cannot be stored; the lists cannot read one: the primary, and right.
        await a.caller.file.rename({ id: file.id, name: "after" });
        expect(names(await a.caller.file.list({ parentId: folder.id }))).toEqual(["after"]);
        expect((await a.caller.file.get({ id: file.id })).name).toBe("after");
        expect((await a.caller.user.me()).username).toBe(a.username);
      } finally {
        await privateRedis.restart();
      }
      // Redis is back but empty (no persistence): positions stay unknown for the window.
      expect(names(await a.caller.file.list({ parentId: folder.id }))).toEqual(["after"]);
    });
    expect(await readsCounted("primary", "position-unknown")).toBeGreaterThan(unknownBefore + 3);
    await pair.caughtUp();
    // The restarted Redis lost every position: the first read there starts a new epoch, and for a
    // window after it positions are unknown, on every instance.
    await until("the app's Redis client back", () => redis.ping().catch(() => "down"), (v) => v === "PONG");
    await until(
      "a new epoch in the restarted Redis",
      async () => ({ position: await positionFor(a.actor.userId), epoch: await privateRedis.cli("GET", `${process.env.REDIS_PREFIX}gtid:epoch`) }),
      (v) => /^\d+$/.test(v.epoch),
    );
    expect(await positionFor(a.actor.userId)).toBeNull();
    await new Promise((r) => setTimeout(r, WINDOW_MS + 100));
    await until("the replica in service", replicaState, (r) => r.state === "ok");
    expect(await positionFor(a.actor.userId)).not.toBeNull();
    const before = await pair.rowReads("replica", "Entry");
    expect(names(await a.caller.file.list({ parentId: folder.id }))).toEqual(["after"]);
    expect(await pair.rowReads("replica", "Entry")).toBeGreaterThan(before);
  });

  it("reports each replica's state and lag in /api/health without failing readiness", async () => {
    await pair.caughtUp();
    const res = await fetch(`${http.baseUrl}/api/health`);
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.replicas).toEqual([
      expect.objectContaining({
        name: "replica-1",
        address: `127.0.0.1:${proxy.port}`,
        state: "ok",
        lagSeconds: expect.any(Number),
        behindTransactions: expect.any(Number),
        appliedGtid: expect.stringMatching(/^\d+-\d+-\d+/),
      }),
    ]);
    await proxy.cut();
    try {
      await probeReplicas();
      const cut = await fetch(`${http.baseUrl}/api/health`);
      expect(cut.status).toBe(200);
      const cutBody = await cut.json();
      expect(cutBody.db).toBe("ok");
      expect(cutBody.replicas[0]).toMatchObject({ state: "down", reason: expect.any(String) });
    } finally {
      await proxy.restore();
    }
  });
});
