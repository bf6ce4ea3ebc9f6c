import { createHash, randomUUID } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import mariadb from "mariadb";

// Applies prisma/migrations/<name>/migration.sql in order and records each in _prisma_migrations
// exactly as `prisma migrate deploy` does (sha256 checksum of the file, names, timestamps), so a
// machine with Prisma's schema engine sees them as applied. Prisma's engine cannot run here.

export interface MigrationResult {
  applied: string[];
  skipped: string[];
}

export class MigrationError extends Error {}

const MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS _prisma_migrations (
    id                      VARCHAR(36) PRIMARY KEY NOT NULL,
    checksum                VARCHAR(64) NOT NULL,
    finished_at             DATETIME(3),
    migration_name          VARCHAR(255) NOT NULL,
    logs                    TEXT,
    rolled_back_at          DATETIME(3),
    started_at              DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    applied_steps_count     INTEGER UNSIGNED NOT NULL DEFAULT 0
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`;

interface Row {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
}

function connectionOptions(url: string) {
  const u = new URL(url);
  const database = decodeURIComponent(u.pathname.replace(/^\//, ""));
  if (!/^[A-Za-z0-9_$-]{1,64}$/.test(database)) throw new MigrationError(`Bad database name in DATABASE_URL: "${database}"`);
  return {
    database,
    options: {
      host: u.hostname,
      port: u.port ? Number(u.port) : 3306,
      user: decodeURIComponent(u.username || "root"),
      password: decodeURIComponent(u.password),
      multipleStatements: true,
      timezone: "Z",
      connectTimeout: 5_000,
    },
  };
}

export async function listMigrations(dir: string): Promise<Array<{ name: string; sql: string; checksum: string }>> {
  const names = (await readdir(dir, { withFileTypes: true }))
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
  const out = [];
  for (const name of names) {
    const sql = await readFile(path.join(dir, name, "migration.sql"), "utf8");
    out.push({ name, sql, checksum: createHash("sha256").update(sql).digest("hex") });
  }
  return out;
}

/** Creates the database if needed and applies pending migrations under a named lock. */
export async function migrate(databaseUrl: string, migrationsDir: string): Promise<MigrationResult> {
  const { database, options } = connectionOptions(databaseUrl);
  const conn = await mariadb.createConnection(options);
  try {
    await conn.query(`CREATE DATABASE IF NOT EXISTS \`${database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
    await conn.query(`USE \`${database}\``);
    const [lock] = await conn.query("SELECT GET_LOCK(?, 60) AS got", [`filestore_migrate_${database}`]);
    if (Number(lock.got) !== 1) throw new MigrationError("Another migration run holds the lock for 60 s; try again");
    try {
      await conn.query(MIGRATIONS_TABLE);
      const rows: Row[] = await conn.query(
        "SELECT migration_name, checksum, finished_at, rolled_back_at FROM _prisma_migrations",
      );
      const migrations = await listMigrations(migrationsDir);
      const result: MigrationResult = { applied: [], skipped: [] };
      for (const m of migrations) {
        const records = rows.filter((r) => r.migration_name === m.name && r.rolled_back_at === null);
        const done = records.find((r) => r.finished_at !== null);
        if (done) {
          if (done.checksum !== m.checksum) {
            throw new MigrationError(
              `Migration ${m.name} was changed after it was applied (checksum ${done.checksum.slice(0, 12)}… in the database, ` +
                `${m.checksum.slice(0, 12)}… on disk). Applied migrations are immutable: add a new migration instead.`,
            );
          }
          result.skipped.push(m.name);
          continue;
        }
        if (records.length > 0) {
          throw new MigrationError(
            `Migration ${m.name} failed earlier and is recorded as unfinished in _prisma_migrations. ` +
              `Fix the database by hand, then mark it rolled back (UPDATE _prisma_migrations SET rolled_back_at = NOW(3) WHERE migration_name = '${m.name}').`,
          );
        }
        const id = randomUUID();
        await conn.query(
          "INSERT INTO _prisma_migrations (id, checksum, migration_name, started_at, applied_steps_count) VALUES (?, ?, ?, NOW(3), 0)",
          [id, m.checksum, m.name],
        );
        try {
          await conn.query(m.sql);
        } catch (e) {
          const message = e instanceof Error ? e.message : String(e);
          await conn.query("UPDATE _prisma_migrations SET logs = ? WHERE id = ?", [message, id]);
          throw new MigrationError(`Migration ${m.name} failed: ${message}`);
        }
        await conn.query("UPDATE _prisma_migrations SET finished_at = NOW(3), applied_steps_count = 1 WHERE id = ?", [id]);
        result.applied.push(m.name);
      }
      return result;
    } finally {
      await conn.query("SELECT RELEASE_LOCK(?)", [`filestore_migrate_${database}`]);
    }
  } finally {
    await conn.end();
  }
}
