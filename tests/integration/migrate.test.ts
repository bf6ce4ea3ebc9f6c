import { createHash } from "node:crypto";
import { cp, mkdtemp, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { migrate, MigrationError } from "~/server/db/migrate";
import { scratchDatabase } from "../helpers/scratch-db";

const migrationsDir = path.resolve(import.meta.dirname, "../../prisma/migrations");
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function scratch(label: string) {
  const db = await scratchDatabase(label);
  cleanups.push(() => db.drop());
  return db;
}

async function copyMigrations() {
  const dir = await mkdtemp(path.join(os.tmpdir(), "fs-migrations-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  await cp(migrationsDir, dir, { recursive: true });
  return dir;
}

describe("migration runner", () => {
  it("creates the database, applies every migration and records it as Prisma does", async () => {
    const db = await scratch("fresh");
    const result = await migrate(db.url, migrationsDir);
    expect(result.applied.length).toBeGreaterThan(0);
    expect(result.skipped).toEqual([]);

    const conn = await db.connect();
    try {
      const rows = await conn.query(
        "SELECT migration_name, checksum, finished_at, rolled_back_at, applied_steps_count, logs FROM _prisma_migrations ORDER BY migration_name",
      );
      expect(rows.map((r: { migration_name: string }) => r.migration_name)).toEqual(result.applied);
      for (const row of rows) {
        const sql = await readFile(path.join(migrationsDir, row.migration_name, "migration.sql"));
        expect(row.checksum).toBe(createHash("sha256").update(sql).digest("hex"));
        expect(row.finished_at).toBeInstanceOf(Date);
        expect(row.rolled_back_at).toBeNull();
        expect(Number(row.applied_steps_count)).toBe(1);
      }
      const tables = (await conn.query("SHOW TABLES")).map((r: Record<string, string>) => Object.values(r)[0]);
      expect(tables).toEqual(expect.arrayContaining(["User", "Entry", "Blob", "UploadSession", "Share", "TransferOutbox"]));
      const [{ cs }] = await conn.query(
        "SELECT DEFAULT_CHARACTER_SET_NAME AS cs FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?",
        [db.name],
      );
      expect(cs).toBe("utf8mb4");
    } finally {
      await conn.end();
    }
  });

  it("is a no-op when run again", async () => {
    const db = await scratch("rerun");
    const first = await migrate(db.url, migrationsDir);
    const second = await migrate(db.url, migrationsDir);
    expect(second.applied).toEqual([]);
    expect(second.skipped).toEqual(first.applied);
    const conn = await db.connect();
    const [{ n }] = await conn.query("SELECT COUNT(*) AS n FROM _prisma_migrations");
    await conn.end();
    expect(Number(n)).toBe(first.applied.length);
  });

  it("refuses to run when an applied migration's file changed", async () => {
    const db = await scratch("checksum");
    const dir = await copyMigrations();
    const { applied } = await migrate(db.url, dir);
    const file = path.join(dir, applied[0]!, "migration.sql");
    await writeFile(file, `${await readFile(file, "utf8")}\n-- edited after the fact\n`);
    await expect(migrate(db.url, dir)).rejects.toThrow(/was changed after it was applied/);
  });

  it("applies a new migration later, and records a failing one instead of half-recording it", async () => {
    const db = await scratch("later");
    const dir = await copyMigrations();
    await migrate(db.url, dir);

    await mkdir(path.join(dir, "29990101000000_add_note"));
    await writeFile(path.join(dir, "29990101000000_add_note", "migration.sql"), "ALTER TABLE `User` ADD COLUMN `note` VARCHAR(20) NULL;\n");
    const next = await migrate(db.url, dir);
    expect(next.applied).toEqual(["29990101000000_add_note"]);

    await mkdir(path.join(dir, "29990102000000_broken"));
    await writeFile(path.join(dir, "29990102000000_broken", "migration.sql"), "ALTER TABLE `NoSuchTable` ADD COLUMN `x` INT;\n");
    await expect(migrate(db.url, dir)).rejects.toBeInstanceOf(MigrationError);
    const conn = await db.connect();
    const [row] = await conn.query("SELECT finished_at, logs FROM _prisma_migrations WHERE migration_name = '29990102000000_broken'");
    await conn.end();
    expect(row.finished_at).toBeNull();
    expect(row.logs).toMatch(/NoSuchTable/);
    // A failed migration blocks later runs until an operator resolves it, as `prisma migrate deploy` does.
    await expect(migrate(db.url, dir)).rejects.toThrow(/failed earlier/);
  });
});
