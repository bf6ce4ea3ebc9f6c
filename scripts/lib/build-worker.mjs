// Compiles the worker (src/worker/main.ts) into one ES module with esbuild, dependencies left as
// imports of node_modules. `npm start` runs the worker from it, as the image does (dist/worker.mjs,
// scripts/build-server.mjs), instead of through tsx's loader: measured with
// bench/transfer-local-ceph.ts, the idle worker's resident set is ~58 MiB smaller (188 vs 246 MiB),
// which is what keeps a 1 GiB transfer under the worker's 250 MB target.
import path from "node:path";

const root = path.resolve(import.meta.dirname, "../..");

/**
 * Node flags of the worker process. A young generation of at most 4 MiB per semi-space (V8's default
 * grows to 16 MiB): the worker streams 64 KiB reads into part buffers it reuses, so short-lived
 * garbage is small and frequent; measured with bench/transfer-local-ceph.ts, idle 198 → 165 MiB and
 * peak during a 1 GiB transfer 248 → 220 MiB, throughput and CPU per GiB unchanged within the noise.
 * The deploy files run the worker with the same flag.
 */
export const workerNodeArgs = ["--max-semi-space-size=4"];

/** The default output: inside .next (gitignored, rebuilt with the app). */
export const workerBundle = path.join(root, ".next/filestore/worker.mjs");

/** Builds the bundle at `outfile` and returns its path. */
export async function buildWorker(outfile = workerBundle) {
  const { build } = await import("esbuild");
  await build({
    entryPoints: [path.join(root, "src/worker/main.ts")],
    outfile,
    bundle: true,
    platform: "node",
    target: "node20",
    format: "esm",
    packages: "external",
    alias: { "~": path.join(root, "src") },
    logLevel: "warning",
  });
  return outfile;
}

// `node scripts/lib/build-worker.mjs [outfile]`
if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(await buildWorker(process.argv[2] ? path.resolve(process.argv[2]) : undefined));
}
