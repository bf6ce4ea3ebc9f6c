import { db, type ReadClient } from "~/server/db/client";
import type { Share } from "~/server/db/generated/client";
import { DomainError } from "~/server/errors";
import { verifyPassword } from "~/server/auth/passwords";
import { redis } from "~/server/redis/client";
import { ancestry, notFound, requireLiveEntry } from "~/server/services/files/tree";
import type { EntryRow } from "~/server/services/files/entry-rows";
import type { Tx } from "~/server/services/files/tree-tx";
import { hasUnlockCookie, unlockCookie } from "./cookies";
import { logger } from "~/server/log";

const log = logger("shares");

// Opening a share link: the token must name a share that is not revoked, not expired, whose owner
// is not disabled and whose entry is live (NOT_FOUND otherwise: a dead link says nothing about why). A password-protected
// share needs the password or the unlock cookie a correct password set (FORBIDDEN otherwise).
// Everything a link exposes is its entry's subtree: ids inside it are checked with one recursive
// CTE from the requested entry up to the share's entry.

export interface OpenedShare {
  share: Share;
  root: EntryRow;
  ownerUsername: string;
}

const dead = () => notFound("This link does not exist or has expired");

/** Failed password attempts per share and window before TOO_MANY_REQUESTS. */
const MAX_PASSWORD_FAILURES = 20;
const PASSWORD_WINDOW_SECONDS = 15 * 60;

export function isUsedUp(share: Pick<Share, "maxDownloads" | "downloadCount">): boolean {
  return share.maxDownloads !== null && share.downloadCount >= share.maxDownloads;
}

/**
 * The live share behind `token` with its (live) entry; NOT_FOUND for anything else. `client`: the
 * primary (default) where the answer decides a download count; a replica for the public page.
 */
export async function findLiveShare(token: string, now = new Date(), client: ReadClient = db.$primary() as unknown as ReadClient): Promise<OpenedShare> {
  if (!/^[A-Za-z0-9_-]{20,64}$/.test(token)) throw dead();
  const share = await client.share.findUnique({
    where: { token },
    include: { owner: { select: { username: true, disabledAt: true } } },
  });
  // A disabled owner's links stop serving, like revoked ones (and come back if re-enabled).
  if (!share || share.revokedAt !== null || share.owner.disabledAt !== null) throw dead();
  if (share.expiresAt !== null && share.expiresAt <= now) throw dead();
  // Live means not in the trash, on its own or inside a trashed folder (both set trashedAt).
  const root = await requireLiveEntry(client, share.ownerId, share.entryId).catch((e: unknown) => {
    if (e instanceof DomainError && e.code === "NOT_FOUND") return null;
    throw e;
  });
  if (!root) throw dead();
  const { owner, ...bare } = share;
  return { share: bare, root, ownerUsername: owner.username };
}

const failuresKey = (shareId: string) => `share:password-fail:${shareId}`;

async function assertNotThrottled(shareId: string): Promise<void> {
  try {
    const key = failuresKey(shareId);
    const [count, ttl] = await Promise.all([redis.get(key), redis.pttl(key)]);
    if (Number(count ?? 0) >= MAX_PASSWORD_FAILURES) {
      throw new DomainError("TOO_MANY_REQUESTS", "Too many wrong passwords for this link; try again later", {
        details: { retryAfter: Math.max(1, Math.ceil((ttl > 0 ? ttl : PASSWORD_WINDOW_SECONDS * 1000) / 1000)) },
      });
    }
  } catch (e) {
    if (e instanceof DomainError) throw e;
    log.warn({ err: e }, "password throttle skipped, Redis unavailable");
  }
}

async function recordFailure(shareId: string): Promise<void> {
  try {
    await redis.multi().incr(failuresKey(shareId)).expire(failuresKey(shareId), PASSWORD_WINDOW_SECONDS, "NX").exec();
  } catch (e) {
    log.warn({ err: e }, "password failure not counted, Redis unavailable");
  }
}

/**
 * Passes when the share has no password, the right password is given, or the request carries a
 * valid unlock cookie; FORBIDDEN otherwise. Returns the Set-Cookie value to send after a correct
 * password.
 */
export async function unlockShare(
  share: Share,
  input: { password?: string | null; cookieHeader: string | null },
): Promise<{ setCookie: string | null }> {
  if (share.passwordHash === null) return { setCookie: null };
  const protectedShare = { id: share.id, passwordHash: share.passwordHash };
  if (input.password != null && input.password !== "") {
    await assertNotThrottled(share.id);
    if (!(await verifyPassword(share.passwordHash, input.password))) {
      await recordFailure(share.id);
      throw new DomainError("FORBIDDEN", "Wrong password");
    }
    return { setCookie: unlockCookie(protectedShare) };
  }
  if (hasUnlockCookie(protectedShare, input.cookieHeader)) return { setCookie: null };
  throw new DomainError("FORBIDDEN", "This link needs a password");
}

/**
 * The path from the share's entry down to `id` (both included), when `id` is a live entry inside
 * the shared subtree; NOT_FOUND for anything outside it, trashed, or someone else's.
 */
export async function pathInsideShare(opened: OpenedShare, id: string, client: ReadClient = db.$primary() as unknown as ReadClient): Promise<EntryRow[]> {
  if (id === opened.root.id) return [opened.root];
  const chain = await ancestry(client, opened.share.ownerId, id);
  const at = chain.findIndex((e) => e.id === opened.root.id);
  const self = chain[chain.length - 1];
  if (at < 0 || !self || self.id !== id) throw notFound();
  const inside = chain.slice(at);
  if (inside.some((e) => e.trashedAt !== null)) throw notFound();
  return inside;
}

/**
 * Counts one download if the limit allows it: one conditional UPDATE, so concurrent downloads can
 * never exceed maxDownloads. False when the link is used up (or gone meanwhile).
 */
export async function countDownload(shareId: string, client: Tx | typeof db = db, now = new Date()): Promise<boolean> {
  const n = await client.$executeRaw`
    UPDATE Share SET downloadCount = downloadCount + 1
    WHERE id = ${shareId} AND revokedAt IS NULL AND (expiresAt IS NULL OR expiresAt > ${now})
      AND (maxDownloads IS NULL OR downloadCount < maxDownloads)`;
  return n === 1;
}
