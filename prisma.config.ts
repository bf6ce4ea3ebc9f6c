import { defineConfig } from "prisma/config";

// Prisma 7 does not read .env; the url is only needed by Prisma's own CLI (migrate/studio), which
// cannot run here (see README). The app builds its connection from src/env.ts.
export default defineConfig({
  schema: "prisma/schema.prisma",
  migrations: { path: "prisma/migrations" },
  datasource: { url: process.env.DATABASE_URL ?? "mysql://root@127.0.0.1:3306/filestore" },
});
