import { afterEach, describe, expect, it } from "vitest";
import { spawnTsx, type Spawned } from "../helpers/processes";

// /api/health talks to every dependency for real. A server whose Redis, database or storage is dead
// must say so by name with 503, and answer quickly rather than hang. The broker only runs background
// work: without it the queue is "degraded" and the drive stays ready (200), as API.md says.

const servers: Spawned[] = [];
afterEach(async () => {
  while (servers.length) await servers.pop()!.stop("SIGKILL");
});

async function startServer(env: Record<string, string> = {}) {
  const server = spawnTsx("tests/helpers/raw-server-main.ts", env);
  servers.push(server);
  const line = await server.waitFor(/^listening \d+/, 120_000); // tsx compiles the route tree first: slow on a loaded machine
  return `http://127.0.0.1:${line.split(" ")[1]}`;
}

describe("GET /api/health", { timeout: 180_000 }, () => { // each test starts a server process (slow under load)
  it("is 200 with every component ok when everything is up", async () => {
    const base = await startServer();
    const res = await fetch(`${base}/api/health`);
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toMatchObject({ db: "ok", redis: "ok", queue: "ok", storage: "ok" });
    expect(body.jobs).toMatchObject({ pending: expect.any(Number), queued: expect.any(Number), running: expect.any(Number), dead: expect.any(Number) });
    expect(body.jobs.oldestPendingSeconds).toBeGreaterThanOrEqual(0);
  });

  it("stays 200 with the queue degraded when the broker is unreachable", async () => {
    const base = await startServer({ AMQP_URL: "amqp://guest:guest@127.0.0.1:1" });
    const res = await fetch(`${base}/api/health`);
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.queue).toMatch(/^degraded: /);
    expect(body).toMatchObject({ db: "ok", redis: "ok", storage: "ok" });
    expect(body.jobs.pending).toEqual(expect.any(Number));
  });

  it("is 503 naming Redis when Redis is unreachable", async () => {
    const base = await startServer({ REDIS_URL: "redis://127.0.0.1:1" });
    const started = Date.now();
    const res = await fetch(`${base}/api/health`);
    expect(res.status).toBe(503);
    const body = await res.json();
    expect(body.redis).toMatch(/^down/);
    expect(body).toMatchObject({ db: "ok", queue: "ok", storage: "ok" });
    expect(body.error.message).toBe("down: redis");
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it("is 503 naming the database when it is unreachable (the queue, also away, is only degraded)", async () => {
    const base = await startServer({ AMQP_URL: "amqp://guest:guest@127.0.0.1:1", DATABASE_URL: "mysql://root@127.0.0.1:1/nothing" });
    const res = await fetch(`${base}/api/health`);
    expect(res.status).toBe(503);
    const body = await res.json();
    expect(body.queue).toMatch(/^degraded/);
    expect(body.db).toMatch(/^down/);
    expect(body.redis).toBe("ok");
    expect(body.error.message).toBe("down: db");
    expect(body.jobs).toMatch(/^unknown/);
  });

  it("is 503 naming storage when the storage backend is unusable", async () => {
    const base = await startServer({ STORAGE_DRIVER: "s3", S3_ENDPOINT: "http://127.0.0.1:1", S3_ACCESS_KEY_ID: "x", S3_SECRET_ACCESS_KEY: "y" });
    const res = await fetch(`${base}/api/health`);
    expect(res.status).toBe(503);
    const body = await res.json();
    expect(body.storage).toMatch(/^down/);
    expect(body.db).toBe("ok");
  });
});
