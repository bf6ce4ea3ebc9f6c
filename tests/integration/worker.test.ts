import { connect } from "amqplib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { db } from "~/server/db/client";
import { enqueueJob } from "~/server/jobs/outbox";
import { topology } from "~/server/queue/topology";
import { spawnTsx, type Spawned } from "../helpers/processes";

// The worker as a real process against the real broker and database: outbox rows written in a
// transaction are relayed, consumed, acked after commit; poison messages are dead-lettered;
// SIGTERM drains and exits cleanly.

let worker: Spawned;

async function waitForRow(id: bigint, state: string, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const row = await db.$primary().transferOutbox.findUnique({ where: { id } });
    if (row?.state === state) return row;
    if (Date.now() > deadline) throw new Error(`outbox row ${id} is ${row?.state}, wanted ${state}\n${worker.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  worker = spawnTsx("src/worker/main.ts");
  await worker.waitFor(/consuming /, 120_000);
});

afterAll(async () => {
  await worker?.stop("SIGKILL");
});

describe("worker", () => {
  it("declares its topology: jobs, retry and dead-letter queues", async () => {
    const conn = await connect(process.env.AMQP_URL ?? "amqp://guest:guest@127.0.0.1:5672");
    const ch = await conn.createChannel();
    try {
      const jobs = await ch.checkQueue(topology.jobsQueue);
      expect(jobs.consumerCount).toBeGreaterThanOrEqual(1);
      await ch.checkQueue(topology.retryQueue);
      await ch.checkQueue(topology.deadQueue);
    } finally {
      await conn.close();
    }
  });

  it("relays an outbox row written in a transaction and marks it done after the job ran", async () => {
    const id = await db.$transaction((tx) => enqueueJob(tx, "blob.collect.v1", { reason: "test" }));
    const row = await waitForRow(id, "done");
    expect(row.attempts).toBeGreaterThanOrEqual(1);
    expect(row.lastError).toBeNull();
  });

  it("dead-letters a message it can never handle and records why", async () => {
    const row = await db.transferOutbox.create({ data: { kind: "no.such.job.v1", payload: {} } });
    const failed = await waitForRow(row.id, "failed");
    expect(failed.lastError).toMatch(/unknown job kind/);
    const conn = await connect(process.env.AMQP_URL ?? "amqp://guest:guest@127.0.0.1:5672");
    const ch = await conn.createChannel();
    try {
      const deadline = Date.now() + 10_000;
      let msg = await ch.get(topology.deadQueue, { noAck: true });
      while (!msg && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
        msg = await ch.get(topology.deadQueue, { noAck: true });
      }
      if (!msg) throw new Error("nothing reached the dead-letter queue");
      expect(JSON.parse(msg.content.toString()).kind).toBe("no.such.job.v1");
    } finally {
      await conn.close();
    }
  });

  it("stops gracefully on SIGTERM", async () => {
    const code = await worker.stop("SIGTERM");
    expect(code).toBe(0);
    expect(worker.output()).toMatch(/"msg":"stopped"/);
  });
});
