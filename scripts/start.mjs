// `npm start`: from a fresh clone to a running drive. Checks the services, installs, migrates,
// builds (when the sources changed) and runs the web server and the worker under a supervisor
// (scripts/lib/supervisor.mjs): a failing worker or a broker outage never stops the web server.
// Plain Node with no dependencies, so it runs before `npm ci`.
import { spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { checkServices } from "./lib/services.mjs";
import { buildWorker } from "./lib/build-worker.mjs";
import { defaultProcesses, supervise } from "./lib/supervisor.mjs";

const root = path.resolve(import.meta.dirname, "..");
process.chdir(root);

function run(cmd, args, extraEnv = {}) {
  const r = spawnSync(cmd, args, { stdio: "inherit", env: { ...process.env, ...extraEnv } });
  if (r.status !== 0) {
    console.error(`\n${cmd} ${args.join(" ")} failed (exit ${r.status})`);
    process.exit(r.status ?? 1);
  }
}

function step(message) {
  console.log(`\n▸ ${message}`);
}

// 1. Services ------------------------------------------------------------------------------------
step("checking MariaDB, Redis and RabbitMQ");
const problems = await checkServices();
if (problems.length) {
  console.error(`\n${problems.join("\n")}\n\nSee README.md, "Configuration".`);
  process.exit(1);
}

// 2. Dependencies (npm ci when package-lock.json changed since the last install) ------------------
const lockHash = createHash("sha256").update(readFileSync("package-lock.json")).digest("hex");
const stamp = path.join("node_modules", ".filestore-lock-sha256");
if (!existsSync(stamp) || readFileSync(stamp, "utf8") !== lockHash) {
  step("installing dependencies (npm ci)");
  run("npm", ["ci", "--no-audit", "--no-fund"]);
  writeFileSync(stamp, lockHash);
}

// 3. Secret: generated once, kept in ./data (gitignored) -----------------------------------------
mkdirSync("data", { recursive: true });
const secretFile = path.join("data", "auth-secret");
if (!process.env.AUTH_SECRET) {
  if (!existsSync(secretFile)) writeFileSync(secretFile, randomBytes(32).toString("hex"), { mode: 0o600 });
  process.env.AUTH_SECRET = readFileSync(secretFile, "utf8").trim();
}
process.env.NODE_ENV = "production";
process.env.NEXT_TELEMETRY_DISABLED = "1";

// 4. Database ------------------------------------------------------------------------------------
step("migrating the database");
run("npx", ["--no-install", "tsx", "scripts/migrate.ts"]);

// 5. Build when any source is newer than the last build -------------------------------------------
function newestMtime(dir) {
  let newest = 0;
  if (!existsSync(dir)) return newest;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === "generated" || entry.name === "node_modules") continue;
    const p = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}
const buildId = path.join(".next", "BUILD_ID");
const sourcesChanged =
  !existsSync(buildId) ||
  Math.max(newestMtime("src"), newestMtime("public"), statSync("next.config.mjs").mtimeMs, statSync("package-lock.json").mtimeMs) >
    statSync(buildId).mtimeMs;
if (sourcesChanged || process.env.FILESTORE_REBUILD === "1") {
  step("building the web app (next build)");
  run("npx", ["--no-install", "next", "build"]);
}

// 6. Web + worker, supervised ------------------------------------------------------------------
step("starting the web server and the worker");
// node itself (not `npx tsx`): one process each, so a signal reaches the web server and the worker
// themselves. The web server runs through tsx's loader; the worker from a bundle compiled now (a
// second, against a smaller resident set: scripts/lib/build-worker.mjs). The worker is restarted with
// backoff whenever it exits; the web server is restarted if it crashes after it was serving.
// Ctrl-C or SIGTERM stops both.
const workerBundle = await buildWorker();
const running = supervise({ processes: defaultProcesses(process.env, { workerBundle }) });
process.on("SIGINT", () => running.stop("SIGINT"));
process.on("SIGTERM", () => running.stop("SIGTERM"));
