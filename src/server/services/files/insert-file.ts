import { db, type Db } from "~/server/db/client";
import { Prisma } from "~/server/db/generated/client";
import { DomainError } from "~/server/errors";
import { entryDtoInclude, type EntryWithBlob } from "~/server/services/entry-dto";
import { alternativeName, assertValidName } from "~/server/services/names";

// Creating a file entry inside a transaction: the one place uploads, 秒传, copies and share saves
// turn a blob into something visible in a user's drive. It neither retains the blob nor charges
// quota: the caller does both in the same transaction (retainBlob/commitBlob, chargeUsed/commitReserved).

// A transaction client as db.$transaction hands it out (the read-replica extension changes its
// type), or as code typed with Prisma.TransactionClient holds it: the same object at run time.
type ExtendedTx = Parameters<Extract<Parameters<Db["$transaction"]>[0], (...args: never[]) => unknown>>[0];
export type AnyTx = ExtendedTx | Prisma.TransactionClient;
type Tx = Prisma.TransactionClient;
const asTx = (tx: AnyTx) => tx as Tx;

/**
 * The folder `parentId` (null = root) must be the owner's live folder; NOT_FOUND otherwise (someone
 * else's folder looks exactly like a missing one). Takes a shared lock on the folder row, so a
 * concurrent trash or purge of it waits for this transaction.
 */
export async function assertParentFolder(txIn: AnyTx, ownerId: string, parentId: string | null | undefined): Promise<void> {
  const tx = asTx(txIn);
  if (parentId == null) return;
  const rows = await tx.$queryRaw<Array<{ kind: string; trashedAt: Date | null }>>`
    SELECT kind, trashedAt FROM Entry WHERE id = ${parentId} AND ownerId = ${ownerId} LOCK IN SHARE MODE`;
  const row = rows[0];
  if (!row || row.trashedAt !== null) throw new DomainError("NOT_FOUND", "Folder not found");
  if (row.kind !== "folder") throw new DomainError("BAD_REQUEST", "The parent is a file, not a folder");
}

export interface InsertFileInput {
  ownerId: string;
  parentId: string | null | undefined;
  name: string;
  blobId: string;
  size: number | bigint;
  mime: string | null;
  /** 'suffix': a taken name becomes "name (1).ext", "name (2).ext"...; 'conflict': CONFLICT. */
  onClash: "suffix" | "conflict";
}

/** Highest n tried before giving up (a folder with that many "x (n)" siblings is someone's script). */
const MAX_SUFFIX = 10_000;

function isUniqueViolation(e: unknown): boolean {
  return e instanceof Prisma.PrismaClientKnownRequestError && e.code === "P2002";
}

function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** The smallest n ≥ 1 whose alternativeName is not among the folder's live names. */
async function nextFreeSuffix(tx: Tx, ownerId: string, parentKey: string, name: string, from: number): Promise<number> {
  // alternativeName(name, n) = stem + " (n)" + ext (stem possibly shortened for long names); fetch
  // the live siblings that look like any of them in one query instead of probing n one by one.
  const sample = alternativeName(name, 1);
  const open = sample.lastIndexOf(" (1)");
  const stem = sample.slice(0, open);
  const ext = sample.slice(open + 4);
  const pattern = `${escapeLike(stem.slice(0, Math.max(0, stem.length - 8)))}% (%)${escapeLike(ext)}`;
  const rows = await tx.$queryRaw<Array<{ activeName: string }>>`
    SELECT activeName FROM Entry WHERE ownerId = ${ownerId} AND parentKey = ${parentKey} AND activeName LIKE ${pattern}`;
  const taken = new Set(rows.map((r) => r.activeName));
  for (let n = from; n <= MAX_SUFFIX; n++) if (!taken.has(alternativeName(name, n))) return n;
  throw new DomainError("CONFLICT", `Too many files named like "${name}" in this folder`);
}

/**
 * Inserts a live file entry. The parent must be the owner's live folder (assertParentFolder). A name
 * clash on the unique (ownerId, parentKey, activeName) key is resolved per `onClash`; a concurrent
 * insert of the same name is caught as a unique violation and the next free name is tried.
 */
export async function insertFileEntry(txIn: AnyTx, input: InsertFileInput): Promise<EntryWithBlob> {
  const tx = asTx(txIn);
  assertValidName(input.name);
  const parentId = input.parentId ?? null;
  await assertParentFolder(tx, input.ownerId, parentId);
  const parentKey = parentId ?? "";
  let candidate = input.name;
  let n = 0;
  for (;;) {
    try {
      return await tx.entry.create({
        data: {
          ownerId: input.ownerId,
          parentId,
          parentKey,
          kind: "file",
          name: candidate,
          activeName: candidate,
          blobId: input.blobId,
          size: BigInt(input.size),
          mime: input.mime,
        },
        include: entryDtoInclude,
      });
    } catch (e) {
      if (!isUniqueViolation(e)) throw e;
      if (input.onClash === "conflict") {
        throw new DomainError("CONFLICT", `"${input.name}" already exists in this folder`);
      }
      n = await nextFreeSuffix(tx, input.ownerId, parentKey, input.name, n + 1);
      candidate = alternativeName(input.name, n);
    }
  }
}

/** Prisma codes for a transaction InnoDB rolled back (deadlock, lock wait timeout, write conflict). */
function isRetryable(e: unknown): boolean {
  if (!(e instanceof Prisma.PrismaClientKnownRequestError)) return false;
  if (e.code === "P2034") return true;
  // Two first-time commits of the same new content race on Blob.sha256: the retry finds the row.
  if (e.code === "P2002") return JSON.stringify(e.meta ?? {}).includes("sha256");
  return false;
}

/**
 * Runs `fn` in a transaction, again (up to `attempts` times, with jittered backoff) when InnoDB
 * rolled it back: concurrent inserts of one name into one folder deadlock on the unique key's gap
 * locks, and a deadlock ends the whole transaction, so the retry must be of the whole of it. `fn`
 * must only touch the database (it may run more than once).
 */
export async function withTxRetry<T>(
  fn: (tx: Prisma.TransactionClient) => Promise<T>,
  options: { attempts?: number; timeout?: number; maxWait?: number } = {},
): Promise<T> {
  const attempts = options.attempts ?? 5;
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.$transaction((tx) => fn(tx as unknown as Prisma.TransactionClient), {
        timeout: options.timeout ?? 15_000,
        maxWait: options.maxWait ?? 5_000,
      });
    } catch (e) {
      if (attempt >= attempts || !isRetryable(e)) throw e;
      await new Promise((r) => setTimeout(r, 10 * 2 ** attempt + Math.random() * 20));
    }
  }
}
