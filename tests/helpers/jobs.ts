import { db } from "~/server/db/client";
import { isJobKind, jobSchemas } from "~/server/jobs/definitions";
import { claimJob } from "~/server/jobs/leases";
import { runClaimedJob } from "~/worker/consumer";
import { until } from "./processes";

// Runs the jobs the code under test queued in the outbox, in this process and without a broker,
// through the worker's own claim → handler → done path (src/worker/consumer.ts). For tests that
// check what a job does (bytes deleted after an abort, blobs collected after a purge) without
// running a worker process; the broker path itself is tested with real workers (worker*.test.ts).

export interface RanJobs {
  ran: number;
  failed: Array<{ id: bigint; kind: string; error: string }>;
}

/**
 * Runs every due job (pending or published, availableAt passed), oldest first, until none is left;
 * with `includeDelayed` also those scheduled for later (a grace period), as if that time had passed.
 * Jobs a handler queues while running are run too. Failures are collected, not thrown.
 */
export async function runQueuedJobs(options: { kinds?: string[]; includeDelayed?: boolean } = {}): Promise<RanJobs> {
  const result: RanJobs = { ran: 0, failed: [] };
  const tried = new Set<string>();
  for (;;) {
    const rows = await db.$primary().transferOutbox.findMany({
      where: {
        // "running" too: a worker process of another test file may have taken the job (all files
        // share the database and the broker); then this waits until it is through with it.
        state: { in: ["pending", "published", "running"] },
        ...(options.includeDelayed ? {} : { availableAt: { lte: new Date() } }),
        ...(options.kinds ? { kind: { in: options.kinds } } : {}),
      },
      orderBy: { id: "asc" },
      take: 100,
    });
    const todo = rows.filter((r) => !tried.has(r.id.toString()));
    if (todo.length === 0) return result;
    for (const row of todo) {
      tried.add(row.id.toString());
      if (!isJobKind(row.kind)) continue;
      if (options.includeDelayed) await db.transferOutbox.update({ where: { id: row.id }, data: { availableAt: new Date(Date.now() - 1000) } });
      const claim = await claimJob(row.id);
      if (!claim.claimed) {
        if (claim.why === "leased") {
          await until(`job ${row.id}, running elsewhere, to finish`, async () => {
            const now = await db.$primary().transferOutbox.findUnique({ where: { id: row.id }, select: { state: true } });
            return now?.state !== "running";
          }, 60_000);
        }
        continue;
      }
      try {
        await runClaimedJob(row.id, row.kind, jobSchemas[row.kind].parse(row.payload), claim.token, claim.attempts, claim.checkpoint);
        result.ran++;
      } catch (e) {
        result.failed.push({ id: row.id, kind: row.kind, error: e instanceof Error ? e.message : String(e) });
        await db.$executeRaw`UPDATE TransferOutbox SET state = 'failed', leaseToken = NULL, lastError = ${String(e)} WHERE id = ${row.id}`;
      }
    }
  }
}
