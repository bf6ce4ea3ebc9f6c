/**
 * SHA-256 of a picked file in Chromium, the way the upload page hashes before 秒传: the previous
 * pure-TypeScript hasher on the main thread (bench/lib/sha256-ts.ts, what the page used until the
 * web drive's second pass) against hash-wasm (WebAssembly) in a Web Worker (the page's hasher now,
 * src/app/_components/transfers). The file is written once to disk and read by the browser from the
 * page cache; each run is a fresh page (its own renderer process). Prints MB/s, the longest stall
 * of the page's main thread during the hash, and checks every digest against Node's.
 *
 *   flock /tmp/filestore-bench.lock npx tsx bench/browser-hash.ts      # BENCH_HASH_MIB=512, BENCH_ROUNDS=3
 */
import { createHash, randomBytes } from "node:crypto";
import { createReadStream, readdirSync, readFileSync } from "node:fs";
import { mkdtemp, open, rm } from "node:fs/promises";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { build } from "esbuild";
import { chromium } from "playwright-core";
import { chromiumArgs } from "../tests/helpers/browser";

const MiB = 1024 * 1024;
const sizeMiB = Number(process.env.BENCH_HASH_MIB ?? 512);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);

async function writeFile(file: string, bytes: number): Promise<string> {
  const hash = createHash("sha256");
  const handle = await open(file, "w");
  const block = randomBytes(8 * MiB);
  for (let written = 0, i = 0; written < bytes; i++) {
    block.writeUInt32BE(i, 0); // every block differs
    const n = Math.min(block.length, bytes - written);
    await handle.write(block, 0, n);
    hash.update(block.subarray(0, n));
    written += n;
  }
  await handle.close();
  return hash.digest("hex");
}

/**
 * CPU seconds used so far by every process descending from this one (Chromium's browser, renderer
 * and utility processes), from /proc/<pid>/stat: steadier than wall time on a shared machine.
 */
function descendantsCpuSeconds(): number {
  const stats = new Map<number, { ppid: number; ticks: number }>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      stats.set(Number(name), { ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) });
    } catch {
      // the process ended meanwhile
    }
  }
  const mine = new Set([process.pid]);
  let ticks = 0;
  for (let grew = true; grew; ) {
    grew = false;
    for (const [pid, s] of stats) {
      if (!mine.has(pid) && mine.has(s.ppid)) {
        mine.add(pid);
        ticks += s.ticks;
        grew = true;
      }
    }
  }
  return ticks / 100; // USER_HZ
}

async function bundle(entry: string, format: "iife" | "esm"): Promise<string> {
  const out = await build({ entryPoints: [entry], bundle: true, write: false, format, target: "es2022", minify: true, alias: { "~": path.resolve("src") } });
  return out.outputFiles[0]!.text;
}

async function main() {
  const dir = await mkdtemp(path.join(os.tmpdir(), "fs-bench-hash-"));
  const file = path.join(dir, "data.bin");
  try {
    const expected = await writeFile(file, sizeMiB * MiB);
    // Read once so the browser reads from the page cache, not the disk.
    for await (const _ of createReadStream(file, { highWaterMark: 8 * MiB }));
    const page = await bundle("bench/lib/browser-hash-page.ts", "iife");
    const worker = await bundle("src/app/_components/transfers/hash.worker.ts", "iife");
    const server = http.createServer((req, res) => {
      if (req.url === "/page.js") return void res.writeHead(200, { "content-type": "text/javascript" }).end(page);
      if (req.url === "/worker.js") return void res.writeHead(200, { "content-type": "text/javascript" }).end(worker);
      res.writeHead(200, { "content-type": "text/html" }).end('<!doctype html><input type="file"><script src="/page.js"></script>');
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as { port: number }).port;
    const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: chromiumArgs });
    const results: Record<string, Array<{ mbps: number; stall: number; cpuPerGiB: number }>> = { "ts-main": [], "wasm-worker": [] };
    try {
      for (let round = 0; round < rounds; round++) {
        for (const kind of ["ts-main", "wasm-worker"] as const) {
          const context = await browser.newContext();
          const tab = await context.newPage();
          await tab.goto(`http://127.0.0.1:${port}/`);
          await tab.locator("input[type=file]").setInputFiles(file);
          const cpuBefore = descendantsCpuSeconds();
          const r = await tab.evaluate((k) => window.benchHash(k), kind);
          const cpuPerGiB = (descendantsCpuSeconds() - cpuBefore) / (sizeMiB / 1024);
          await context.close();
          if (r.sha256 !== expected) throw new Error(`${kind}: digest ${r.sha256} differs from Node's ${expected}`);
          const mbps = (sizeMiB * MiB) / 1e6 / (r.ms / 1000);
          results[kind]!.push({ mbps, stall: r.maxStallMs, cpuPerGiB });
          console.log(
            `round ${round + 1} ${kind.padEnd(11)} ${mbps.toFixed(0).padStart(5)} MB/s  ${cpuPerGiB.toFixed(2)} browser CPU s/GiB  (${(r.ms / 1000).toFixed(2)} s, longest main-thread stall ${r.maxStallMs} ms)`,
          );
        }
      }
    } finally {
      await browser.close();
      server.close();
    }
    const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const ts = median(results["ts-main"]!.map((r) => r.mbps));
    const wasm = median(results["wasm-worker"]!.map((r) => r.mbps));
    console.log(`\n${sizeMiB} MiB, median of ${rounds}: pure TS on the main thread ${ts.toFixed(0)} MB/s, hash-wasm in a worker ${wasm.toFixed(0)} MB/s: ${(wasm / ts).toFixed(1)}×`);
    const tsCpu = median(results["ts-main"]!.map((r) => r.cpuPerGiB));
    const wasmCpu = median(results["wasm-worker"]!.map((r) => r.cpuPerGiB));
    console.log(`browser CPU per GiB: TS ${tsCpu.toFixed(2)} s, worker ${wasmCpu.toFixed(2)} s: ${(tsCpu / wasmCpu).toFixed(1)}× less`);
    console.log(`longest main-thread stall: TS ${Math.max(...results["ts-main"]!.map((r) => r.stall))} ms, worker ${Math.max(...results["wasm-worker"]!.map((r) => r.stall))} ms`);
    console.log(`load average: ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
