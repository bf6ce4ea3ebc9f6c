#!/usr/bin/env node
// The `filestore` command (package.json "bin", `npm run cli`). The TypeScript under src/cli and
// src/client is compiled once into a single ES module cached in node_modules/.cache/filestore-cli/
// (esbuild; dependencies stay imports of node_modules), and compiled again when a source is newer.
// Starting from that file costs a quarter of the CPU of compiling through tsx's loader on every
// run. Where the cache cannot be written, tsx's loader runs the sources directly.
import { mkdir, readdir, rename, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const entry = path.join(root, "src/cli/main.ts");
const cacheDir = path.join(root, "node_modules/.cache/filestore-cli");
const bundle = path.join(cacheDir, "main.mjs");

async function newestSource(dir) {
  let newest = 0;
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, await newestSource(p));
    else if (e.name.endsWith(".ts")) newest = Math.max(newest, (await stat(p)).mtimeMs);
  }
  return newest;
}

async function compiled() {
  const sources = Math.max(await newestSource(path.join(root, "src/cli")), await newestSource(path.join(root, "src/client")));
  const built = await stat(bundle).then((s) => s.mtimeMs, () => 0);
  if (built > sources) return bundle;
  const { build } = await import("esbuild");
  const out = await build({ entryPoints: [entry], bundle: true, platform: "node", format: "esm", target: "node20", packages: "external", write: false, logLevel: "silent" });
  await mkdir(cacheDir, { recursive: true });
  // Another command may be compiling at the same moment: each writes its own file, then renames.
  const tmp = `${bundle}.${process.pid}.tmp`;
  await writeFile(tmp, out.outputFiles[0].contents);
  await rename(tmp, bundle);
  return bundle;
}

let target;
try {
  target = await compiled();
} catch {
  const { register } = await import("tsx/esm/api");
  register();
  target = entry;
}
await import(pathToFileURL(target).href);
