import { randomBytes } from "node:crypto";
import mariadb from "mariadb";

// A throwaway database beside the test run's own one, for tests that need an empty or broken
// schema (migration runner, drift detection). drop() removes it.

const baseUrl = process.env.TEST_DATABASE_URL ?? "mysql://root@127.0.0.1:3306/test";

export async function scratchDatabase(label: string) {
  const name = `fs_s_${label}_${randomBytes(4).toString("hex")}`;
  const u = new URL(baseUrl);
  u.pathname = `/${name}`;
  const options = {
    host: u.hostname,
    port: u.port ? Number(u.port) : 3306,
    user: decodeURIComponent(u.username || "root"),
    password: decodeURIComponent(u.password),
  };
  return {
    name,
    url: u.toString(),
    connect: () => mariadb.createConnection({ ...options, database: name }),
    async drop() {
      const conn = await mariadb.createConnection(options);
      await conn.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await conn.end();
    },
  };
}
