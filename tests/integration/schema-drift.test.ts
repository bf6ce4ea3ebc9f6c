import { readFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrate } from "~/server/db/migrate";
import { scratchDatabase } from "../helpers/scratch-db";
import { findDrift, type Datamodel } from "../helpers/schema-drift";

const root = path.resolve(import.meta.dirname, "../..");
let dm: Datamodel;
let db: Awaited<ReturnType<typeof scratchDatabase>>;

beforeAll(async () => {
  // Written by `prisma generate` (scripts/dmmf-generator.mjs) from prisma/schema.prisma.
  dm = JSON.parse(await readFile(path.join(root, "src/server/db/generated/dmmf.json"), "utf8"));
  db = await scratchDatabase("drift");
  await migrate(db.url, path.join(root, "prisma/migrations"));
});
afterAll(async () => {
  await db?.drop();
});

describe("schema.prisma and the SQL migrations", () => {
  it("describe the same tables, columns, types, nullability, indexes and foreign keys", async () => {
    const conn = await db.connect();
    try {
      expect(await findDrift(conn, db.name, dm)).toEqual([]);
    } finally {
      await conn.end();
    }
  });

  it("the comparison notices drift (a column changed, an index dropped, a table added)", async () => {
    const conn = await db.connect();
    try {
      await conn.query("ALTER TABLE `Share` MODIFY `maxDownloads` BIGINT NOT NULL DEFAULT 0");
      await conn.query("ALTER TABLE `Blob` DROP INDEX `Blob_state_refCount_idx`");
      await conn.query("CREATE TABLE `Stray` (`id` INT PRIMARY KEY)");
      const problems = await findDrift(conn, db.name, dm);
      expect(problems).toEqual(
        expect.arrayContaining([
          "Share.maxDownloads: type bigint in the database, int in schema.prisma",
          "Share.maxDownloads: NOT NULL in the database, optional in schema.prisma",
          "Blob: index(state,refCount) declared in schema.prisma, missing in the database",
          "table Stray: in the database but not in schema.prisma",
        ]),
      );
    } finally {
      await conn.end();
    }
  });

  it("uses utf8mb4 for every text column and a binary collation for entry names", async () => {
    const conn = await db.connect();
    try {
      const rows = await conn.query(
        "SELECT TABLE_NAME, COLUMN_NAME, COLLATION_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND COLLATION_NAME IS NOT NULL",
        [db.name],
      );
      for (const r of rows) expect(r.COLLATION_NAME, `${r.TABLE_NAME}.${r.COLUMN_NAME}`).toMatch(/^utf8mb4_/);
      const name = rows.find((r: { TABLE_NAME: string; COLUMN_NAME: string }) => r.TABLE_NAME === "Entry" && r.COLUMN_NAME === "name");
      expect(name.COLLATION_NAME).toBe("utf8mb4_bin");
    } finally {
      await conn.end();
    }
  });
});
