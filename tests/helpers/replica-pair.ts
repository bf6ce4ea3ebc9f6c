import { randomBytes } from "node:crypto";
import path from "node:path";
import mariadb from "mariadb";
import { afterAll } from "vitest";
import { migrate } from "../../src/server/db/migrate";

// The MariaDB primary/replica pair of scripts/mysql-replica.sh (scripts/test.sh starts it and
// exports TEST_REPLICA_PRIMARY_URL and TEST_REPLICA_URL). A test file gets a scratch database
// created on the primary, which replicates to the replica, and connections to each server to look
// at what ran where. Without the pair the test file FAILS: it says how to start it.

export interface ReplicaPair {
  database: string;
  primaryUrl: string;
  replicaUrl: string;
  replicaPort: number;
  /** A root connection to each server (no default database). */
  primary: mariadb.Connection;
  replica: mariadb.Connection;
  /** Waits until the replica applied everything the primary has committed so far. */
  caughtUp(): Promise<void>;
  /**
   * Rows read from `table` of this database on `server` so far (performance_schema table I/O; it
   * counts prepared statements too, which statement digests do not, and never the probes' table-less
   * SELECT @@gtid_... queries that Com_select would include).
   */
  rowReads(server: "primary" | "replica", table: string): Promise<number>;
}

function serverOf(url: string) {
  const u = new URL(url);
  return { host: u.hostname, port: Number(u.port || 3306), user: decodeURIComponent(u.username || "root"), password: decodeURIComponent(u.password) };
}

export async function useReplicaPair(label: string): Promise<ReplicaPair> {
  const primaryBase = process.env.TEST_REPLICA_PRIMARY_URL;
  const replicaBase = process.env.TEST_REPLICA_URL;
  if (!primaryBase || !replicaBase) {
    throw new Error(
      "No MariaDB replica pair: run `eval \"$(bash scripts/mysql-replica.sh start)\"` and export TEST_REPLICA_PRIMARY_URL and TEST_REPLICA_URL (scripts/test.sh does)",
    );
  }
  const database = `fs_r_${label}_${randomBytes(4).toString("hex")}`;
  const primary = await mariadb.createConnection({ ...serverOf(primaryBase), bigIntAsNumber: true });
  const replica = await mariadb.createConnection({ ...serverOf(replicaBase), bigIntAsNumber: true });
  const withDb = (base: string) => {
    const u = new URL(base);
    u.pathname = `/${database}`;
    return u.toString();
  };
  await primary.query(`CREATE DATABASE \`${database}\``);
  await migrate(withDb(primaryBase), path.resolve(import.meta.dirname, "../../prisma/migrations"));

  const caughtUp = async () => {
    const [{ pos }] = await primary.query("SELECT @@gtid_binlog_pos AS pos");
    const [{ r }] = await replica.query("SELECT MASTER_GTID_WAIT(?, 30) AS r", [pos]);
    if (Number(r) !== 0) throw new Error(`the replica did not reach ${pos} within 30 s`);
  };
  await caughtUp();

  afterAll(async () => {
    // A test may have stopped replication; never leave it stopped.
    await replica.query("START SLAVE").catch(() => undefined);
    if (process.env.FILESTORE_TEST_KEEP !== "1") await primary.query(`DROP DATABASE IF EXISTS \`${database}\``);
    await primary.end();
    await replica.end();
  }, 60_000);

  return {
    database,
    primaryUrl: withDb(primaryBase),
    replicaUrl: withDb(replicaBase),
    replicaPort: serverOf(replicaBase).port,
    primary,
    replica,
    caughtUp,
    async rowReads(server, table) {
      const conn = server === "primary" ? primary : replica;
      const rows = await conn.query(
        "SELECT CAST(IFNULL(SUM(COUNT_READ), 0) AS SIGNED) AS n FROM performance_schema.table_io_waits_summary_by_table WHERE OBJECT_SCHEMA = ? AND OBJECT_NAME = ?",
        [database, table],
      );
      return Number(rows[0].n);
    },
  };
}
