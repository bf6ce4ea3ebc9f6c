import { randomBytes } from "node:crypto";
import type { Actor } from "~/server/auth/actor";
import { startSession } from "~/server/auth/sessions";
import { db } from "~/server/db/client";
import { emptyDrive } from "~/server/services/trash/purge-trash";
import { endSession } from "~/server/services/uploads/session-lifecycle";
import { createUser } from "~/server/services/users";
import { createCaller } from "~/server/trpc/root";
import { createTrpcContext } from "~/server/trpc/trpc";
import { runQueuedJobs } from "./jobs";

// Test users: real accounts in the run's database, created through the account service (not the
// throttled sign-up route, so a big suite never trips the per-address limit).

export type Caller = ReturnType<typeof createCaller>;

export interface TestUser {
  actor: Actor;
  username: string;
  password: string;
  accessToken: string;
  refreshToken: string;
  familyId: string;
  /** `{ authorization: "Bearer <accessToken>" }`, for fetch and raw routes. */
  authHeaders: Record<string, string>;
  /** A tRPC caller acting as this user. */
  caller: Caller;
}

const created = new Set<string>();

/** A unique username (`t_<random>`, 3-32 allowed characters). */
export function uniqueUsername(prefix = "t_"): string {
  return `${prefix}${randomBytes(8).toString("hex")}`;
}

export async function createTestUser(opts: { quotaBytes?: number; username?: string; password?: string } = {}): Promise<TestUser> {
  const username = opts.username ?? uniqueUsername();
  const password = opts.password ?? `pw-${randomBytes(12).toString("base64url")}`;
  const actor = await createUser({ username, password, quotaBytes: opts.quotaBytes });
  created.add(actor.userId);
  const session = await startSession(actor);
  const authHeaders = { authorization: `Bearer ${session.accessToken}` };
  return {
    actor,
    username,
    password,
    accessToken: session.accessToken,
    refreshToken: session.refreshToken,
    familyId: session.familyId,
    authHeaders,
    caller: await callerFor(authHeaders),
  };
}

/** A tRPC caller for a request carrying these headers (cookie, bearer, x-filestore-remote-addr...). */
export async function callerFor(headers: HeadersInit, resHeaders?: Headers): Promise<Caller> {
  return createCaller(await createTrpcContext({ headers: new Headers(headers), resHeaders }));
}

/** A tRPC caller with no credentials. */
export function anonymousCaller(headers: HeadersInit = {}): Promise<Caller> {
  return callerFor(headers);
}

/**
 * Deletes a user and everything of theirs: sign-ins, tokens, upload sessions and shares go by
 * cascade; entries are detached from their parents first (the tree's parent key is RESTRICT, so a
 * nested tree would block the cascade). Blob rows are left to the run's database teardown.
 */
export async function deleteTestUser(user: { actor: Actor } | string): Promise<void> {
  const userId = typeof user === "string" ? user : user.actor.userId;
  // The drive goes the normal way first, so no blob keeps a reference (or bytes) for this user:
  // open uploads are aborted (bytes removed, reservation released), files purged and collected.
  if (!(await db.$primary().user.findUnique({ where: { id: userId }, select: { id: true } }))) {
    created.delete(userId);
    return;
  }
  const open = await db.$primary().uploadSession.findMany({ where: { ownerId: userId, state: "open" } });
  for (const session of open) await endSession(session, "aborted");
  await emptyDrive(userId);
  await db.$transaction(async (tx) => {
    await tx.entry.updateMany({ where: { ownerId: userId, parentId: { not: null } }, data: { parentId: null } });
    await tx.user.deleteMany({ where: { id: userId } });
  });
  created.delete(userId);
}

/** Deletes every user this helper created in the current test file; call it from afterAll. */
export async function deleteCreatedTestUsers(): Promise<void> {
  for (const userId of [...created]) await deleteTestUser(userId);
  // Their bytes are deleted by jobs (ended uploads, purged blobs): run them, so nothing stays behind
  // in a shared bucket (Ceph's dev cluster keeps objects in RAM).
  await runQueuedJobs({ kinds: ["storage.discard.v1", "blob.collect.v1"] });
}
