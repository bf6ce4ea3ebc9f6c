import { db } from "~/server/db/client";
import { blobStorage, markBlobMissing } from "../blobs";

// npm run blobs -- scan [--mark]: checks every blob's object against storage (one HEAD each), so an
// operator learns of lost bytes (a wiped disk, a lost bucket, a tier restored from an older backup)
// before users do. With `mark`, blobs whose object is missing or of the wrong size become `missing`
// (no 秒传 is offered for them, and the next upload of the content repairs them at once), and
// `missing` blobs whose object is back become `ready` again.

export type ScanProblem = "missing" | "wrong-size" | "unreachable";

export interface ScanFinding {
  blobId: string;
  sha256: string;
  size: number;
  driver: string;
  storageKey: string;
  refCount: number;
  problem: ScanProblem;
  /** The object's size when it exists with another size; the error when storage did not answer. */
  detail?: string;
}

export interface ScanResult {
  scanned: number;
  findings: ScanFinding[];
  /** Blobs marked missing by this scan (`mark`). */
  marked: number;
  /** Blobs marked missing earlier whose object is back (`mark`). */
  restored: number;
}

interface Row {
  id: string;
  sha256: string;
  size: bigint;
  driver: string;
  storageKey: string;
  refCount: number;
  state: string;
}

async function check(row: Row): Promise<ScanFinding | null> {
  const base = { blobId: row.id, sha256: row.sha256, size: Number(row.size), driver: row.driver, storageKey: row.storageKey, refCount: row.refCount };
  try {
    const head = await blobStorage(row.driver).head(row.storageKey);
    if (!head) return { ...base, problem: "missing" };
    if (head.size !== Number(row.size)) return { ...base, problem: "wrong-size", detail: `${head.size} bytes` };
    return null;
  } catch (e) {
    return { ...base, problem: "unreachable", detail: e instanceof Error ? e.message : String(e) };
  }
}

export async function scanBlobs(options: { mark?: boolean; concurrency?: number; onProgress?: (scanned: number) => void } = {}): Promise<ScanResult> {
  const concurrency = options.concurrency ?? 8;
  const result: ScanResult = { scanned: 0, findings: [], marked: 0, restored: 0 };
  let after = "";
  for (;;) {
    const rows = await db.$primary().$queryRaw<Row[]>`
      SELECT id, sha256, size, driver, storageKey, refCount, state FROM \`Blob\`
      WHERE id > ${after} AND state IN ('ready', 'missing') ORDER BY id LIMIT 500`;
    if (rows.length === 0) break;
    let next = 0;
    const work = async () => {
      while (next < rows.length) {
        const row = rows[next++]!;
        let finding = await check(row);
        if (finding && finding.problem !== "unreachable") {
          // Moved to another tier between the read and the HEAD? Look at where it is now.
          const now = await db.$primary().blob.findUnique({ where: { id: row.id } });
          if (!now || now.state === "deleting") continue;
          if (now.driver !== row.driver || now.storageKey !== row.storageKey) finding = await check({ ...now, refCount: now.refCount });
        }
        if (finding) {
          result.findings.push(finding);
          if (options.mark && finding.problem !== "unreachable" && (await markBlobMissing(finding.blobId, finding.driver, finding.storageKey))) result.marked++;
        } else if (options.mark && row.state === "missing") {
          const n = await db.$executeRaw`
            UPDATE \`Blob\` SET state = 'ready', updatedAt = NOW(3)
            WHERE id = ${row.id} AND state = 'missing' AND driver = ${row.driver} AND storageKey = ${row.storageKey}`;
          result.restored += n;
        }
        result.scanned++;
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, rows.length) }, work));
    options.onProgress?.(result.scanned);
    after = rows[rows.length - 1]!.id;
  }
  return result;
}
