import { afterAll, describe, expect, it } from "vitest";
import type { EntryDto } from "~/server/services/entry-dto";
import { expectTrpcError } from "../helpers/drive-expect";
import { bulkEntries, cleanupDriveUsers, putFile } from "../helpers/drive-files";
import { createTestUser, type TestUser } from "../helpers/users";

// file.list: folders first, the three sorts in both orders, keyset pages that stay correct while
// the folder changes, and the whole-drive name search with LIKE wildcards taken literally.

const users: TestUser[] = [];
async function user() {
  const u = await createTestUser();
  users.push(u);
  return u;
}
afterAll(() => cleanupDriveUsers(users));

type ListArgs = Exclude<Parameters<TestUser["caller"]["file"]["list"]>[0], void | undefined>;

/** Every page of a listing, following nextCursor. */
async function listAll(u: TestUser, args: ListArgs, between?: (page: number) => Promise<void>) {
  const items: EntryDto[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 10_000; page++) {
    const res = await u.caller.file.list({ ...args, cursor });
    items.push(...res.items);
    expect(res.items.length).toBeLessThanOrEqual(args.limit ?? 100);
    if (!res.nextCursor) return items;
    expect(res.items.length).toBe(args.limit ?? 100);
    cursor = res.nextCursor;
    if (between) await between(page);
  }
  throw new Error("listing did not end");
}

const cmpBin = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

describe("file.list ordering", () => {
  it("lists folders first, then files, by name (byte order) by default", async () => {
    const a = await user();
    await bulkEntries(a, null, [
      { name: "b.txt", kind: "file", size: 5 },
      { name: "A.txt", kind: "file", size: 9 },
      { name: "zeta", kind: "folder" },
      { name: "Alpha", kind: "folder" },
      { name: "a.txt", kind: "file", size: 1 },
    ]);
    const { items, nextCursor } = await a.caller.file.list();
    expect(items.map((i) => i.name)).toEqual(["Alpha", "zeta", "A.txt", "a.txt", "b.txt"]);
    expect(nextCursor).toBeNull();
    const desc = await a.caller.file.list({ order: "desc" });
    expect(desc.items.map((i) => i.name)).toEqual(["zeta", "Alpha", "b.txt", "a.txt", "A.txt"]);
  });

  it("sorts by size (folders by name) and by date, both orders, across pages", async () => {
    const a = await user();
    const specs = Array.from({ length: 57 }, (_, i) => ({
      name: `f${String(i).padStart(3, "0")}`,
      kind: (i % 5 === 0 ? "folder" : "file") as "file" | "folder",
      size: (i * 37) % 11, // many equal sizes: ties are broken by id
      updatedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, (i * 7) % 13)), // and equal dates
    }));
    await bulkEntries(a, null, specs);
    for (const sort of ["name", "size", "updatedAt"] as const) {
      for (const order of ["asc", "desc"] as const) {
        const all = await listAll(a, { sort, order, limit: 4 });
        expect(all).toHaveLength(57);
        expect(new Set(all.map((i) => i.id)).size).toBe(57);
        const folders = all.filter((i) => i.kind === "folder");
        expect(all.slice(0, folders.length).every((i) => i.kind === "folder")).toBe(true);
        const files = all.filter((i) => i.kind === "file");
        const sign = order === "asc" ? 1 : -1;
        const key = (i: EntryDto) => (sort === "size" ? i.size! : sort === "updatedAt" ? i.updatedAt.getTime() : 0);
        for (let k = 1; k < files.length; k++) {
          const [p, c] = [files[k - 1]!, files[k]!];
          if (sort === "name") expect(sign * cmpBin(p.name, c.name)).toBeLessThan(0);
          else {
            expect(sign * (key(c) - key(p))).toBeGreaterThanOrEqual(0);
            if (key(c) === key(p)) expect(sign * cmpBin(p.id, c.id)).toBeLessThan(0);
          }
        }
        const folderSort = sort === "updatedAt" ? "updatedAt" : "name";
        for (let k = 1; k < folders.length; k++) {
          const [p, c] = [folders[k - 1]!, folders[k]!];
          if (folderSort === "name") expect(sign * cmpBin(p.name, c.name)).toBeLessThan(0);
          else expect(sign * (c.updatedAt.getTime() - p.updatedAt.getTime())).toBeGreaterThanOrEqual(0);
        }
      }
    }
  });

  it("turns exactly full folder pages into the file run without an empty page", async () => {
    const a = await user();
    await bulkEntries(a, null, [
      { name: "d1", kind: "folder" },
      { name: "d2", kind: "folder" },
    ]);
    const first = await a.caller.file.list({ limit: 2 });
    expect(first.items.map((i) => i.name)).toEqual(["d1", "d2"]);
    expect(first.nextCursor).toBeNull();
    await bulkEntries(a, null, [{ name: "f", kind: "file" }]);
    const again = await a.caller.file.list({ limit: 2 });
    expect(again.nextCursor).not.toBeNull();
    const second = await a.caller.file.list({ limit: 2, cursor: again.nextCursor });
    expect(second.items.map((i) => i.name)).toEqual(["f"]);
    expect(second.nextCursor).toBeNull();
  });
});

describe("file.list pagination", () => {
  it("pages through 2 500 entries with limits up to 1000, each exactly once", async () => {
    const a = await user();
    const folder = await a.caller.file.mkdir({ name: "big" });
    await bulkEntries(
      a,
      folder.id,
      Array.from({ length: 2500 }, (_, i) => ({ name: `n${i}`, kind: i < 300 ? ("folder" as const) : ("file" as const), size: i })),
    );
    const pages = await listAll(a, { parentId: folder.id, limit: 1000 });
    expect(pages).toHaveLength(2500);
    expect(new Set(pages.map((p) => p.id)).size).toBe(2500);
    const defaultPage = await a.caller.file.list({ parentId: folder.id });
    expect(defaultPage.items).toHaveLength(100);
    await expectTrpcError(a.caller.file.list({ parentId: folder.id, limit: 1001 }), "BAD_REQUEST");
    await expectTrpcError(a.caller.file.list({ parentId: folder.id, limit: 0 }), "BAD_REQUEST");
  });

  it("stays correct while entries are added and removed between pages", async () => {
    const a = await user();
    const d = await a.caller.file.mkdir({ name: "live" });
    const initial = Array.from({ length: 120 }, (_, i) => `m${String(i * 10).padStart(5, "0")}`);
    await bulkEntries(a, d.id, initial.map((name) => ({ name, kind: "file" as const })));
    const idOf = new Map((await listAll(a, { parentId: d.id, limit: 1000 })).map((e) => [e.name, e.id]));
    const removed = initial[100]!;
    let added = 0;
    const seen = await listAll(a, { parentId: d.id, limit: 10 }, async (page) => {
      if (page === 2) await a.caller.file.delete({ ids: [idOf.get(removed)!] });
      // before the cursor, after it, and a folder (which sorts before everything)
      await a.caller.file.mkdir({ name: `a-folder-${page}`, parentId: d.id });
      await bulkEntries(a, d.id, [
        { name: `m${String(page * 10 + 5).padStart(5, "0")}x`, kind: "file" },
        { name: `z-late-${page}`, kind: "file" },
      ]);
      added += 3;
    });
    const names = seen.map((s) => s.name);
    expect(new Set(seen.map((s) => s.id)).size).toBe(seen.length);
    for (const name of initial) if (name !== removed) expect(names).toContain(name);
    expect(names).not.toContain(removed);
    // entries added after the cursor show up; those added before it do not come back twice
    expect(names.filter((n) => n.startsWith("z-late-")).length).toBeGreaterThan(0);
    expect(seen.length).toBeLessThan(initial.length + added);
    const fileNames = seen.filter((s) => s.kind === "file").map((s) => s.name);
    expect([...fileNames].sort(cmpBin)).toEqual(fileNames);
  });

  it("rejects foreign and mismatched cursors", async () => {
    const a = await user();
    await bulkEntries(a, null, Array.from({ length: 3 }, (_, i) => ({ name: `x${i}`, kind: "file" as const })));
    const { nextCursor } = await a.caller.file.list({ limit: 1 });
    expect(nextCursor).toBeTruthy();
    await expectTrpcError(a.caller.file.list({ limit: 1, cursor: nextCursor, sort: "size" }), "BAD_REQUEST");
    await expectTrpcError(a.caller.file.list({ limit: 1, cursor: "not-a-cursor" }), "BAD_REQUEST");
    await expectTrpcError(a.caller.file.list({ limit: 1, cursor: Buffer.from('{"v":1}').toString("base64url") }), "BAD_REQUEST");
  });
});

describe("file.list search (q)", () => {
  it("searches names in the whole drive, live entries only, wildcards taken literally", async () => {
    const a = await user();
    const b = await user();
    const deep = await a.caller.file.mkdir({ name: "deep" });
    const deeper = await a.caller.file.mkdir({ name: "Deeper", parentId: deep.id });
    await putFile(a, { name: "Report_2024.pdf", data: "r1", parentId: deeper.id });
    await putFile(a, { name: "report-2024.pdf", data: "r2" });
    await putFile(a, { name: "100% done.txt", data: "p" });
    await putFile(a, { name: "Résumé.doc", data: "cv" });
    const trash = await a.caller.file.mkdir({ name: "old reports" });
    await putFile(a, { name: "report_in_trash.pdf", data: "t", parentId: trash.id });
    await a.caller.file.delete({ ids: [trash.id] });
    await putFile(b, { name: "report_of_b.pdf", data: "b" });

    const q = async (text: string) => (await a.caller.file.list({ q: text })).items.map((i) => i.name).sort();
    expect(await q("report")).toEqual(["Report_2024.pdf", "report-2024.pdf"]);
    expect(await q("_")).toEqual(["Report_2024.pdf"]);
    expect(await q("%")).toEqual(["100% done.txt"]);
    expect(await q("REPORT_")).toEqual(["Report_2024.pdf"]);
    expect(await q("resume")).toEqual(["Résumé.doc"]);
    expect(await q("deep")).toEqual(["Deeper", "deep"]);
    expect(await q("!")).toEqual([]);
    const hit = (await a.caller.file.list({ q: "Report_" })).items[0]!;
    expect(hit.parentId).toBe(deeper.id);
  });

  it("pages search results with the same cursors", async () => {
    const a = await user();
    await bulkEntries(a, null, Array.from({ length: 25 }, (_, i) => ({ name: `hit-${i}`, kind: "file" as const, size: i })));
    await bulkEntries(a, null, [{ name: "miss", kind: "file" }]);
    const all = await listAll(a, { q: "hit", limit: 7, sort: "size", order: "desc" });
    expect(all.map((i) => i.size)).toEqual(Array.from({ length: 25 }, (_, i) => 24 - i));
  });
});
