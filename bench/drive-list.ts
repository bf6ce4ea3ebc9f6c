/**
 * Benchmark: file.list on a folder of 10 000 entries (1 000 folders, 9 000 files), pages of 100,
 * walked from the first page to the last with nextCursor, for every sort and both orders, through
 * the tRPC caller (zod, middleware, service, MariaDB). Prints p50 and p99 per page. Also a name
 * search over the drive. Own database, removed at the end; bounded; stops by itself.
 *
 *   npx tsx bench/drive-list.ts
 *   BENCH_ENTRIES=50000 BENCH_PASSES=2 npx tsx bench/drive-list.ts
 */
import os from "node:os";
import { randomBytes } from "node:crypto";
import { percentile } from "./drive-env";
import { prepareBenchEnv } from "./lib/env";

const ENTRIES = Number(process.env.BENCH_ENTRIES ?? 10_000);
const PASSES = Number(process.env.BENCH_PASSES ?? 3);
const PAGE = 100;

async function main() {
  const envr = await prepareBenchEnv("list");
  try {
    const { db } = await import("../src/server/db/client");
    const { createUser } = await import("../src/server/services/users");
    const { createCaller } = await import("../src/server/trpc/root");

    const actor = await createUser({ username: `bench_${randomBytes(4).toString("hex")}`, password: "bench-password-1" });
    const caller = createCaller({ actor, headers: new Headers(), resHeaders: new Headers(), clientIp: "127.0.0.1" });
    const folder = await caller.file.mkdir({ name: "big" });

    console.log(`filling a folder with ${ENTRIES} entries…`);
    const blob = await db.blob.create({
      data: { sha256: randomBytes(32).toString("hex"), size: 1n, driver: "local", storageKey: "bench/none", refCount: ENTRIES },
    });
    const base = Date.UTC(2026, 0, 1);
    const rows = Array.from({ length: ENTRIES }, (_, i) => {
      const isFolder = i % 10 === 0;
      const name = `${randomBytes(3).toString("hex")} item ${i}${isFolder ? "" : ".dat"}`;
      return {
        ownerId: actor.userId,
        parentId: folder.id,
        parentKey: folder.id,
        kind: isFolder ? ("folder" as const) : ("file" as const),
        name,
        activeName: name,
        blobId: isFolder ? null : blob.id,
        size: isFolder ? null : BigInt((i * 7919) % 10_000_000),
        mime: isFolder ? null : "application/octet-stream",
        updatedAt: new Date(base + ((i * 104729) % 86_400_000)),
      };
    });
    for (let i = 0; i < rows.length; i += 2000) await db.entry.createMany({ data: rows.slice(i, i + 2000) });
    await db.$executeRawUnsafe("ANALYZE TABLE Entry");

    // warm-up: one full walk
    for (let c: string | null = null, first = true; first || c; first = false) {
      c = (await caller.file.list({ parentId: folder.id, limit: PAGE, cursor: c })).nextCursor;
    }

    console.log(`\n${ENTRIES} entries, pages of ${PAGE}, ${PASSES} passes, load average ${os.loadavg().map((l) => l.toFixed(1)).join(" ")}`);
    console.log("sort        order  pages   p50 ms   p99 ms   max ms");
    const all: number[] = [];
    for (const sort of ["name", "size", "updatedAt"] as const) {
      for (const order of ["asc", "desc"] as const) {
        const times: number[] = [];
        let pages = 0;
        for (let pass = 0; pass < PASSES; pass++) {
          let cursor: string | null = null;
          let seen = 0;
          do {
            const t0 = performance.now();
            const page: { items: unknown[]; nextCursor: string | null } = await caller.file.list({ parentId: folder.id, limit: PAGE, sort, order, cursor });
            times.push(performance.now() - t0);
            seen += page.items.length;
            cursor = page.nextCursor;
            pages++;
          } while (cursor);
          if (seen !== ENTRIES) throw new Error(`walk saw ${seen} entries, expected ${ENTRIES}`);
        }
        times.sort((a, b) => a - b);
        all.push(...times);
        console.log(
          `${sort.padEnd(11)} ${order.padEnd(5)} ${String(pages).padStart(6)} ${percentile(times, 50).toFixed(2).padStart(8)} ${percentile(times, 99).toFixed(2).padStart(8)} ${times[times.length - 1]!.toFixed(2).padStart(8)}`,
        );
      }
    }
    all.sort((a, b) => a - b);
    console.log(`all pages: p50 ${percentile(all, 50).toFixed(2)} ms, p99 ${percentile(all, 99).toFixed(2)} ms (target p50 < 50 ms)`);

    const search: number[] = [];
    for (let i = 0; i < 20; i++) {
      const t0 = performance.now();
      await caller.file.list({ q: `item ${i * 37}`, limit: PAGE });
      search.push(performance.now() - t0);
    }
    search.sort((a, b) => a - b);
    console.log(`search q (whole drive, ${ENTRIES} entries): p50 ${percentile(search, 50).toFixed(2)} ms, p99 ${percentile(search, 99).toFixed(2)} ms`);
  } finally {
    await envr.cleanup();
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
