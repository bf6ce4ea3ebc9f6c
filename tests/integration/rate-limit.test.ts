import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// Per-user token buckets on expensive calls (services/rate-limit.ts) in Redis, with small limits
// set for this file: 429 / TOO_MANY_REQUESTS with Retry-After, per user, and downloads in parallel.
Object.assign(process.env, {
  RATE_LIMIT_SEARCH_PER_MINUTE: "3",
  RATE_LIMIT_TREE_ENTRIES_PER_MINUTE: "10",
  RATE_LIMIT_PURGE_PER_MINUTE: "2",
  RATE_LIMIT_DOWNLOADS_PER_MINUTE: "5",
  DOWNLOADS_MAX_PARALLEL: "2",
});

const { startHttpServer } = await import("../helpers/http-server");
const { patternBytes, postFiles } = await import("../helpers/upload-client");
const { createTestUser, deleteCreatedTestUsers } = await import("../helpers/users");
const { spawnTsx } = await import("../helpers/processes");
const { TRPCError } = await import("@trpc/server");

let server: Awaited<ReturnType<typeof startHttpServer>>;
beforeAll(async () => {
  server = await startHttpServer();
});
afterAll(async () => {
  await server.close();
  await deleteCreatedTestUsers();
});

async function refused(p: Promise<unknown>): Promise<{ retryAfter: number }> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(TRPCError);
  expect((e as InstanceType<typeof TRPCError>).code).toBe("TOO_MANY_REQUESTS");
  const cause = (e as { cause?: { details?: { retryAfter?: number } } }).cause;
  expect(cause?.details?.retryAfter).toBeGreaterThan(0);
  return { retryAfter: cause!.details!.retryAfter! };
}

describe("per-user limits", () => {
  it("search: the bucket empties, refuses with a retry time, and belongs to one user", async () => {
    const [alice, bob] = await Promise.all([createTestUser(), createTestUser()]);
    for (let i = 0; i < 3; i++) await alice.caller.file.list({ q: "x" });
    const { retryAfter } = await refused(alice.caller.file.list({ q: "x" }));
    expect(retryAfter).toBeLessThanOrEqual(20); // 3 a minute: one token back every 20 s
    // Listing a folder is not a search; another user has a bucket of their own.
    await alice.caller.file.list({});
    await bob.caller.file.list({ q: "x" });
  });

  it("copy and move: one token per entry touched; a copy bigger than the bucket passes when it is full", async () => {
    const user = await createTestUser();
    const top = await user.caller.file.mkdir({ name: "big" });
    let parent = top.id;
    for (let i = 0; i < 13; i++) parent = (await user.caller.file.mkdir({ parentId: parent, name: `d${i}` })).id;
    // 14 entries > 10 tokens: allowed (empties the bucket), then even one entry waits.
    await user.caller.file.copy({ ids: [top.id], parentId: null });
    const { retryAfter } = await refused(user.caller.file.move({ ids: [top.id], parentId: parent === top.id ? null : undefined }));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    await refused(user.caller.file.copy({ ids: [top.id], parentId: null }));
  });

  it("purge: the third purge within a minute is refused", async () => {
    const user = await createTestUser();
    await user.caller.trash.purge({});
    await user.caller.trash.purge({});
    await refused(user.caller.trash.purge({}));
  });

  it("downloads: 429 with Retry-After past the rate, and at most DOWNLOADS_MAX_PARALLEL streams at once", async () => {
    const user = await createTestUser();
    const data = patternBytes(8 * 1024 * 1024, 4401);
    const posted = await postFiles(server.baseUrl, user.authHeaders, [{ name: "big.bin", data }]);
    const url = `${server.baseUrl}/api/files/${posted.json.files[0].id}/content`;

    // Two downloads that do not read their bodies hold both slots.
    const held: http.ClientRequest[] = [];
    const open = () =>
      new Promise<http.IncomingMessage>((resolve, reject) => {
        const req = http.get(url, { headers: user.authHeaders }, resolve);
        req.on("error", reject);
        held.push(req);
      });
    const first = await open();
    const second = await open();
    expect([first.statusCode, second.statusCode]).toEqual([200, 200]);
    const third = await fetch(url, { headers: user.authHeaders });
    expect(third.status).toBe(429);
    expect(Number(third.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(((await third.json()) as { error: { code: string } }).error.code).toBe("TOO_MANY_REQUESTS");
    // HEAD sends no bytes and is not limited.
    expect((await fetch(url, { method: "HEAD", headers: user.authHeaders })).status).toBe(200);
    // One ends: its slot is free again (the lease is released when the response closes).
    held[0]!.destroy();
    await new Promise((r) => setTimeout(r, 500));
    const fourth = await fetch(url, { headers: user.authHeaders });
    expect(fourth.status).toBe(200);
    await fourth.arrayBuffer();
    // 5 started a minute: the 6th start is refused whatever the parallelism.
    held[1]!.destroy();
    await new Promise((r) => setTimeout(r, 300));
    const fifth = await fetch(url, { headers: user.authHeaders });
    await fifth.arrayBuffer();
    const sixth = await fetch(url, { headers: user.authHeaders });
    expect(sixth.status).toBe(429);
    expect(Number(sixth.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
  });

  it("with Redis unreachable the limits are not enforced and the drive keeps serving", async () => {
    const user = await createTestUser();
    const posted = await postFiles(server.baseUrl, user.authHeaders, [{ name: "small.bin", data: patternBytes(1000, 4402) }]);
    // A signed URL: no sign-in state to look up, only the limits touch Redis on this path.
    const { url } = await user.caller.file.downloadUrl({ id: posted.json.files[0].id });
    const child = spawnTsx("tests/helpers/raw-server-main.ts", { REDIS_URL: "redis://127.0.0.1:1", RATE_LIMIT_DOWNLOADS_PER_MINUTE: "1" });
    try {
      const port = (await child.waitFor(/^listening \d+/)).split(" ")[1];
      for (let i = 0; i < 3; i++) {
        const started = Date.now();
        const res = await fetch(`http://127.0.0.1:${port}${new URL(url).pathname}${new URL(url).search}`);
        expect(res.status).toBe(200);
        expect((await res.arrayBuffer()).byteLength).toBe(1000);
        // Not held up by Redis's reconnect attempts.
        expect(Date.now() - started).toBeLessThan(5_000);
      }
      expect(child.output()).toMatch(/rate limit not enforced: Redis unavailable/);
    } finally {
      await child.stop("SIGKILL");
    }
  });
});
