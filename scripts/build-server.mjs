// Assembles the self-contained server folder the image runs (deploy/Dockerfile), after `next build`
// (next.config.mjs sets output: "standalone"):
//
//   <out>/                     Next's .next/standalone (server files + the node_modules Next traced)
//   <out>/.next/static, public what Next leaves for the operator to copy
//   <out>/dist/server.mjs      the custom web server (src/server/main.ts), bundled with esbuild
//   <out>/dist/worker.mjs      the worker (src/worker/main.ts)
//   <out>/dist/migrate.mjs     the migration runner (scripts/migrate.ts)
//   <out>/prisma/migrations    what the runner applies
//
// Everything our code imports is bundled, except `next` (the one Next traced, so pages and the
// custom server share it) and native modules, which stay in node_modules.
//
//   node scripts/build-server.mjs [out]     (default .next/standalone, assembled in place)
import { cpSync, existsSync, mkdirSync, rmSync } from "node:fs";
import path from "node:path";
import { build } from "esbuild";

const root = path.resolve(import.meta.dirname, "..");
const standalone = path.join(root, ".next/standalone");
const out = path.resolve(process.argv[2] ?? standalone);

if (!existsSync(path.join(standalone, "server.js"))) {
  console.error("No .next/standalone: run `next build` first (next.config.mjs sets output: \"standalone\")");
  process.exit(1);
}

if (out !== standalone) {
  rmSync(out, { recursive: true, force: true });
  cpSync(standalone, out, { recursive: true });
}
cpSync(path.join(root, ".next/static"), path.join(out, ".next/static"), { recursive: true });
cpSync(path.join(root, "public"), path.join(out, "public"), { recursive: true });
mkdirSync(path.join(out, "prisma"), { recursive: true });
cpSync(path.join(root, "prisma/migrations"), path.join(out, "prisma/migrations"), { recursive: true });
// Next's tracing copies some of our sources and tests; the bundles below replace them.
for (const dir of ["src", "tests", "bench", "scripts"]) rmSync(path.join(out, dir), { recursive: true, force: true });

/** Imports that stay in node_modules: Next itself, native code, and what a dependency only tries (urllib: proxy-agent). */
const external = ["next", "next/*", "@node-rs/argon2", "@node-rs/argon2-*", "proxy-agent"];

await build({
  entryPoints: {
    server: path.join(root, "src/server/main.ts"),
    worker: path.join(root, "src/worker/main.ts"),
    migrate: path.join(root, "scripts/migrate.ts"),
  },
  outdir: path.join(out, "dist"),
  bundle: true,
  platform: "node",
  target: "node20",
  format: "esm",
  outExtension: { ".js": ".mjs" },
  splitting: false,
  sourcemap: false,
  alias: { "~": path.join(root, "src") },
  external,
  // CommonJS dependencies inside an ES module bundle still call require() and use __dirname.
  banner: {
    js: [
      'import { createRequire as __filestoreCreateRequire } from "node:module";',
      'import { fileURLToPath as __filestoreFileURLToPath } from "node:url";',
      "const require = __filestoreCreateRequire(import.meta.url);",
      "const __filename = __filestoreFileURLToPath(import.meta.url);",
      "const __dirname = __filestoreFileURLToPath(new URL('.', import.meta.url));",
    ].join("\n"),
  },
  // scripts/migrate.ts finds ../prisma/migrations next to dist/.
  define: { "import.meta.dirname": "__dirname" },
  logLevel: "warning",
});
console.log(`server folder ready: ${path.relative(root, out) || "."} (node dist/server.mjs | dist/worker.mjs | dist/migrate.mjs)`);
