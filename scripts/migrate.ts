import path from "node:path";
import { env } from "../src/env";
import { migrate, MigrationError } from "../src/server/db/migrate";

const dir = path.resolve(import.meta.dirname, "../prisma/migrations");
const redacted = env.DATABASE_URL.replace(/\/\/([^:@/]+):[^@/]*@/, "//$1:***@");

try {
  const { applied, skipped } = await migrate(env.DATABASE_URL, dir);
  for (const name of applied) console.log(`applied  ${name}`);
  console.log(`database ${redacted}: ${applied.length} applied, ${skipped.length} already up to date`);
} catch (e) {
  if (e instanceof MigrationError) console.error(`migrate: ${e.message}`);
  else console.error(`migrate: cannot reach MariaDB at ${redacted}: ${e instanceof Error ? e.message : e}\nSet DATABASE_URL (see README.md, "Configuration").`);
  process.exit(1);
}
