import { describe, expect, it } from "vitest";
import { useIsolatedRun } from "../helpers/isolated-run";

// The outbox row's life (src/server/jobs/leases.ts, maintenance.ts) without a broker: one claim at a
// time, lease-fenced transitions, recovery of a dead worker's job, cleanup of done rows. Its own
// database, so no worker of another test file relays these rows.
await useIsolatedRun("jobs", { JOB_LEASE_SECONDS: "1", JOB_DONE_RETENTION_HOURS: "1" });
const { db } = await import("~/server/db/client");
const { enqueueJob } = await import("~/server/jobs/outbox");
const { claimJob, extendLease, finishJob, LeaseLostError } = await import("~/server/jobs/leases");
const { cleanupDoneJobs, recoverExpiredLeases } = await import("~/server/jobs/maintenance");

const newJob = (subject?: string, delayMs?: number) => db.$transaction((tx) => enqueueJob(tx, "blob.collect.v1", { reason: "test" }, { subject, delayMs }));
const row = (id: bigint) => db.$primary().transferOutbox.findUniqueOrThrow({ where: { id } });

describe("outbox jobs", () => {
  it("one claim at a time: a second delivery of a running job is not run; done is fenced by the lease", async () => {
    const id = await newJob("s1");
    await db.transferOutbox.update({ where: { id }, data: { state: "published" } });
    const first = await claimJob(id);
    expect(first).toMatchObject({ claimed: true, attempts: 1 });
    expect(await claimJob(id)).toEqual({ claimed: false, why: "leased" });
    if (!first.claimed) throw new Error("unreachable");
    expect(await extendLease(id, first.token)).toBe(true);
    expect(await extendLease(id, "not-the-token")).toBe(false);
    await expect(finishJob(null, id, "not-the-token")).rejects.toBeInstanceOf(LeaseLostError);
    await finishJob(null, id, first.token);
    expect(await row(id)).toMatchObject({ state: "done", leaseToken: null });
    expect(await claimJob(id)).toEqual({ claimed: false, why: "done" });
  });

  it("a job scheduled for later is not claimable before its time; a worker that died loses its lease and the job is run again", async () => {
    const later = await newJob("s2", 60_000);
    expect(await claimJob(later)).toEqual({ claimed: false, why: "not-due" });

    const id = await newJob("s3");
    await db.transferOutbox.update({ where: { id }, data: { state: "published" } });
    const dead = await claimJob(id);
    expect(dead.claimed).toBe(true);
    await new Promise((r) => setTimeout(r, 1300)); // the 1 s lease runs out: nobody extends it
    expect(await recoverExpiredLeases()).toBeGreaterThanOrEqual(1);
    expect(await row(id)).toMatchObject({ state: "pending", leaseToken: null });
    expect((await row(id)).lastError).toMatch(/stopped extending its lease/);
    const again = await claimJob(id);
    expect(again).toMatchObject({ claimed: true, attempts: 2 });
    // The dead worker's token no longer moves the row.
    if (!dead.claimed) throw new Error("unreachable");
    await expect(finishJob(null, id, dead.token)).rejects.toBeInstanceOf(LeaseLostError);
  });

  it("done rows are deleted after JOB_DONE_RETENTION_HOURS, others are kept", async () => {
    const old = await newJob("s4");
    const recent = await newJob("s5");
    const open = await newJob("s6");
    await db.$executeRaw`UPDATE TransferOutbox SET state = 'done', updatedAt = NOW(3) - INTERVAL 2 HOUR WHERE id = ${old}`;
    await db.$executeRaw`UPDATE TransferOutbox SET state = 'done' WHERE id = ${recent}`;
    await db.$executeRaw`UPDATE TransferOutbox SET updatedAt = NOW(3) - INTERVAL 2 HOUR WHERE id = ${open}`;
    expect(await cleanupDoneJobs()).toBe(1);
    expect(await db.$primary().transferOutbox.findUnique({ where: { id: old } })).toBeNull();
    expect(await db.$primary().transferOutbox.findUnique({ where: { id: recent } })).not.toBeNull();
    expect(await db.$primary().transferOutbox.findUnique({ where: { id: open } })).not.toBeNull();
    // A message for a cleaned-up row is a finished job: dropped.
    expect(await claimJob(old)).toEqual({ claimed: false, why: "gone" });
  });
});
