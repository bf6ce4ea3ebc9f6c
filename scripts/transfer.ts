// npm run transfer -- status [--json] | retry-dead [--kind K] | requeue <blobId> [--force] | backfill [--limit N]
// The operator's view of async transfers and background jobs (README.md, "Storage tiers").
import { parseArgs } from "node:util";
import { db } from "../src/server/db/client";
import { closeQueue } from "../src/server/queue/connection";
import { backfillTransfers, OperatorError, requeueTransfer, retryDead, transferStatus } from "../src/server/services/transfers/operator";

const USAGE = `usage: npm run transfer -- <command>
  status [--json]           jobs pending / queued / running / done / dead, transfers in flight, bytes per tier
  retry-dead [--kind KIND]  run dead-lettered jobs again (their rows go back to pending)
  requeue <blobId> [--force] queue the transfer of one blob again
  backfill [--limit N]      queue a transfer for every blob not on TRANSFER_TARGET yet`;

const gib = (bytes: number) => `${(bytes / 1024 ** 3).toFixed(2)} GiB`;

async function status(json: boolean) {
  const s = await transferStatus();
  if (json) {
    console.log(JSON.stringify(s, (_k, v) => (typeof v === "bigint" ? Number(v) : v), 2));
    return;
  }
  console.log(s.settings ? `transfer: ${s.settings.source} → ${s.settings.target}, grace ${s.settings.graceMs / 1000} s, min ${s.settings.minBytes} bytes` : "transfer: off (TRANSFER_TARGET is not set)");
  console.log("\njobs (kind, state, count):");
  if (s.jobs.length === 0) console.log("  none");
  for (const j of s.jobs) console.log(`  ${j.kind.padEnd(22)} ${(j.state === "failed" ? "dead" : j.state === "published" ? "queued" : j.state).padEnd(9)} ${j.count}`);
  console.log("\ntransfers in flight:");
  if (s.inFlight.length === 0) console.log("  none");
  for (const r of s.inFlight) console.log(`  job ${r.id}  blob ${r.blobId}  ${r.size === null ? "?" : gib(r.size)}  attempt ${r.attempts}  lease until ${r.leaseUntil?.toISOString()}`);
  console.log("\nblobs per tier (driver, state, count, bytes):");
  for (const t of s.tiers) console.log(`  ${t.driver.padEnd(6)} ${t.state.padEnd(9)} ${String(t.blobs).padStart(9)}  ${gib(t.bytes)}`);
  console.log("\nbroker queues:");
  if ("error" in s.queues) console.log(`  unreachable: ${s.queues.error} (jobs wait in the outbox)`);
  else for (const q of s.queues) console.log(`  ${q.name.padEnd(40)} ${String(q.messages).padStart(7)} message(s), ${q.consumers} consumer(s)`);
  if (s.dead.length) {
    console.log("\nmost recent dead jobs:");
    for (const d of s.dead) console.log(`  job ${d.id} ${d.kind}${d.subject ? ` (${d.subject})` : ""}, ${d.attempts} attempt(s), ${d.at.toISOString()}: ${d.lastError ?? "?"}`);
  }
}

async function main(): Promise<number> {
  const { positionals, values } = parseArgs({
    args: process.argv.slice(2),
    allowPositionals: true,
    options: { json: { type: "boolean" }, force: { type: "boolean" }, kind: { type: "string" }, limit: { type: "string" }, help: { type: "boolean", short: "h" } },
  });
  const [command, ...rest] = positionals;
  if (values.help || !command) {
    console.log(USAGE);
    return command || values.help ? 0 : 2;
  }
  switch (command) {
    case "status":
      await status(values.json ?? false);
      return 0;
    case "retry-dead": {
      const r = await retryDead({ kind: values.kind });
      console.log(`${r.requeued} dead job(s) queued again; ${r.removedFromDeadQueue} removed from the dead-letter queue, ${r.keptInDeadQueue} left there (no job to run)`);
      return 0;
    }
    case "requeue": {
      const blobId = rest[0];
      if (!blobId) throw new OperatorError("requeue needs a blob id");
      const { jobId } = await requeueTransfer(blobId, { force: values.force });
      console.log(`blob ${blobId}: transfer job ${jobId} queued`);
      return 0;
    }
    case "backfill": {
      const limit = values.limit === undefined ? undefined : Number(values.limit);
      if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) throw new OperatorError("--limit must be a positive integer");
      const r = await backfillTransfers({ limit });
      console.log(`${r.queued} blob(s), ${gib(r.bytes)}, queued for transfer`);
      return 0;
    }
    default:
      console.error(`unknown command ${JSON.stringify(command)}\n${USAGE}`);
      return 2;
  }
}

let code = 1;
try {
  code = await main();
} catch (e) {
  console.error(`transfer: ${e instanceof Error ? e.message : e}`);
  code = e instanceof OperatorError ? 2 : 1;
} finally {
  await closeQueue();
  await db.$disconnect().catch(() => undefined);
}
process.exit(code);
