import { env } from "~/env";
import { DomainError } from "~/server/errors";
import { logger } from "~/server/log";
import { metrics } from "~/server/metrics";
import { positionFor } from "./causal";
import { db, type ReadClient } from "./client";
import { formatGtid, gtidReached, type GtidPosition } from "./gtid";
import { markDown, pickReplica, type Replica } from "./replicas";

// WHERE A READ GOES — the one rule, applied here; services call it instead of choosing a client.
//
//   reads.forUser(userId, fn)  a read of the user's own data, shown to that user (file.list and
//                              search, file.get/path, trash.list, share.list, user.me, the lookup
//                              of an own-file download). A replica in service that has applied the
//                              user's last write (causal.ts); MASTER_GTID_WAIT there for up to
//                              REPLICA_CAUSAL_WAIT_MS when it has not yet; else the primary.
//   reads.anyone(fn)           a read for a visitor who did not write it (the public share page,
//                              a share link's download lookup). Any replica in service, no wait:
//                              it may be behind by the replica's measured lag (bounded by
//                              REPLICA_MAX_LAG_SECONDS). Not found there → asked again on the primary,
//                              so a link shared a moment ago opens.
//   db (the primary)           everything else: writes, transactions, and reads that decide a write
//                              — quota checks, token rotation and sign-in state, share download
//                              counting, upload bookkeeping, anything read FOR UPDATE.
//
// A read `fn` must be a pure read: when the replica fails under it (connection lost, timeout), the
// replica is marked down (replicas.ts probes it back) and `fn` runs again on the primary.

const log = logger("reads");

export type ReadTarget = "replica" | "primary";
export type ReadFn<T> = (client: ReadClient) => Promise<T>;

const primary = (): ReadClient => db.$primary() as unknown as ReadClient;

function count(target: ReadTarget, why: string): void {
  metrics().dbReads.inc({ target, why });
}

/** MASTER_GTID_WAIT on `r`: true once it applied `pos`, false on timeout. Throws when `r` fails. */
async function waitFor(r: Replica, pos: GtidPosition): Promise<boolean> {
  const seconds = env.REPLICA_CAUSAL_WAIT_MS / 1000;
  const rows = await r.client.$queryRaw<Array<{ r: bigint | number | null }>>`SELECT MASTER_GTID_WAIT(${formatGtid(pos)}, ${seconds}) AS r`;
  // 0: reached; -1: timed out. The read that follows runs on another connection of the same server,
  // which is fine: a server's applied position only moves forward.
  return Number(rows[0]?.r) === 0;
}

async function onReplica<T>(r: Replica, fn: ReadFn<T>, why: string): Promise<T> {
  try {
    const result = await fn(r.client);
    count("replica", why);
    return result;
  } catch (e) {
    if (e instanceof DomainError) throw e;
    markDown(r, e);
    count("primary", "replica-failed");
    return fn(primary());
  }
}

/** Where `userId`'s read goes, and why (exported for tests and the benchmark). */
export async function routeForUser(userId: string): Promise<{ replica: Replica | null; why: string }> {
  const r = await pickReplica();
  if (!r) return { replica: null, why: "no-replica" };
  const pos = await positionFor(userId);
  if (pos === null) return { replica: null, why: "position-unknown" };
  if (pos.size === 0 || (r.applied && gtidReached(r.applied, pos))) return { replica: r, why: "caught-up" };
  // A wait on this replica timed out since its last probe: it is not catching up fast; spare the
  // user another wait.
  if (r.waitTimedOutAt > 0) return { replica: null, why: "causal-timeout" };
  try {
    if (await waitFor(r, pos)) return { replica: r, why: "causal-wait" };
    r.waitTimedOutAt = Date.now();
    return { replica: null, why: "causal-timeout" };
  } catch (e) {
    markDown(r, e);
    return { replica: null, why: "replica-failed" };
  }
}

export const reads = {
  /** A read of `userId`'s own data for `userId`: sees every write that user made. */
  async forUser<T>(userId: string, fn: ReadFn<T>): Promise<T> {
    const { replica, why } = await routeForUser(userId);
    if (!replica) {
      count("primary", why);
      return fn(primary());
    }
    return onReplica(replica, fn, why);
  },

  /** A read for a visitor of someone else's data: may be behind by the replica's lag. */
  async anyone<T>(fn: ReadFn<T>): Promise<T> {
    const r = await pickReplica();
    if (!r) {
      count("primary", "no-replica");
      return fn(primary());
    }
    try {
      return await onReplica(r, fn, "visitor");
    } catch (e) {
      if (!(e instanceof DomainError) || e.code !== "NOT_FOUND") throw e;
      log.debug({ replica: r.name }, "not found on the replica; asking the primary");
      count("primary", "not-found-on-replica");
      return fn(primary());
    }
  },

  /** The primary, for reads that decide a write. */
  primary,
};
