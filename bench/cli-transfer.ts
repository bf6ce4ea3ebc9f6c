/**
 * Benchmark: the `filestore` command line against curl doing the same requests, 1 GiB up and down,
 * through the drive's server (bench/lib/app-server.ts: the raw routes as the custom server serves
 * them, tRPC beside them) in a process of its own, local-disk storage, loopback.
 *
 *   upload   CLI:  filestore upload (hash the file, upload.init with its SHA-256, 8 MiB chunk PUTs
 *                  4 at a time each with Content-Digest, upload.complete)
 *            curl: upload.init (curl), the same PUTs with the same Content-Digest headers from chunk
 *                  files split before the timing (curl -Z --parallel-max 4), upload.complete (curl)
 *   download CLI:  filestore download (to name.part, SHA-256 checked, fsync, rename)
 *            curl: one GET to a file
 *
 * Every source is a file written before the timing and read once (page cache), so neither client
 * generates bytes while timed. Each run uses new content, so the CLI's upload is never a 秒传.
 * Prints MB/s, and CPU seconds per GiB of the server and of the client process (from /proc: the
 * server's utime+stime, the clients' as reaped children of this process).
 *
 *   flock /tmp/filestore-bench.lock npx tsx bench/cli-transfer.ts
 *   BENCH_SIZE_MIB=256 BENCH_RUNS=1 npx tsx bench/cli-transfer.ts
 */
import { execFileSync, spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { Content } from "./lib/data";
import { runBench } from "./lib/env";
import { startChild } from "./lib/servers";

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const SIZE = Number(process.env.BENCH_SIZE_MIB ?? 1024) * MiB;
const RUNS = Number(process.env.BENCH_RUNS ?? 2);
const CHUNK = 8 * MiB;
const PARALLEL = 4;
const CLI = path.resolve(import.meta.dirname, "../bin/filestore.mjs");

const TICKS = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** utime+stime of a process (fields 14, 15 of /proc/<pid>/stat), and of its reaped children (16, 17). */
async function cpu(pid: number | "self"): Promise<{ own: number; children: number }> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ").map(Number);
  return { own: (f[11]! + f[12]!) / TICKS, children: (f[13]! + f[14]!) / TICKS };
}

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (b) => (stdout += b));
    p.stderr.on("data", (b) => (stderr += b));
    p.on("error", reject);
    p.on("close", (status) => resolve({ status, stdout, stderr }));
    p.stdin.end(env.__STDIN ?? "");
  });
}

function must(r: Run, what: string): Run {
  if (r.status !== 0) throw new Error(`${what} failed (${r.status}): ${r.stderr || r.stdout}`);
  return r;
}

interface Measured {
  seconds: number;
  serverCpu: number;
  clientCpu: number;
}

/** Wall time, server CPU and the CPU of the client processes `body` starts (and waits for). */
async function measure(serverPid: number, body: () => Promise<void>): Promise<Measured> {
  const s0 = await cpu(serverPid);
  const c0 = await cpu("self");
  const t0 = performance.now();
  await body();
  const seconds = (performance.now() - t0) / 1000;
  const s1 = await cpu(serverPid);
  const c1 = await cpu("self");
  return { seconds, serverCpu: s1.own - s0.own, clientCpu: c1.children - c0.children };
}

interface Source {
  size: number;
  file: string;
  chunks: string[];
  digests: string[];
  sha256: string;
}

/** The content written to one file, and split into chunk files for curl, with every digest. */
async function writeSource(dir: string, seed: string, size: number): Promise<Source> {
  const content = new Content(size, seed);
  const file = path.join(dir, `${seed}.bin`);
  const whole = createHash("sha256");
  const gen = content.stream();
  gen.on("data", (b: Buffer) => whole.update(b));
  await pipeline(gen, createWriteStream(file, { highWaterMark: MiB }));
  const chunks: string[] = [];
  const digests: string[] = [];
  for (let off = 0, i = 0; off < size; off += CHUNK, i++) {
    const chunk = path.join(dir, `${seed}.${String(i).padStart(5, "0")}`);
    const h = createHash("sha256");
    const part = createReadStream(file, { start: off, end: Math.min(size, off + CHUNK) - 1, highWaterMark: MiB });
    part.on("data", (b) => h.update(b as Buffer));
    await pipeline(part, createWriteStream(chunk));
    chunks.push(chunk);
    digests.push(`sha-256=:${h.digest("base64")}:`);
  }
  for (const f of [file, ...chunks]) for await (const _ of createReadStream(f, { highWaterMark: MiB })); // page cache
  return { file, chunks, digests, sha256: whole.digest("hex"), size };
}

async function trpcCurl(baseUrl: string, auth: string, proc: string, input: unknown): Promise<any> {
  const r = must(
    await run("curl", ["-sS", "--fail-with-body", "-X", "POST", "-H", `authorization: ${auth}`, "-H", "content-type: application/json", "--data-binary", JSON.stringify({ json: input }), `${baseUrl}/api/trpc/${proc}`]),
    `curl ${proc}`,
  );
  return JSON.parse(r.stdout).result.data.json;
}

const mbps = (m: Measured) => SIZE / MiB / m.seconds;
const perGiB = (s: number) => (s * GiB) / SIZE;

await runBench(async () => {
  const load = os.loadavg().map((l) => l.toFixed(1)).join(" ");
  const app = await startChild("app-server.ts");
  const serverPid = app.child.pid!;
  const { createUser } = await import("../src/server/services/users");
  const { startSession } = await import("../src/server/auth/sessions");
  const username = `b_${randomBytes(6).toString("hex")}`;
  const password = `pw-${randomBytes(12).toString("hex")}`;
  const actor = await createUser({ username, password, quotaBytes: 2 ** 42 });
  // A fresh access token before each curl step (outside the timing): a slow run outlives one.
  const freshBearer = async () => `Bearer ${(await startSession(actor)).accessToken}`;

  const work = await mkdtemp(path.join(process.env.BENCH_DIR ?? os.tmpdir(), "fs-bench-cli-"));
  const home = { XDG_CONFIG_HOME: path.join(work, "config"), XDG_STATE_HOME: path.join(work, "state"), FILESTORE_URL: app.baseUrl, HOME: work };
  try {
    must(await run(process.execPath, [CLI, "login", "-u", username, "--password-stdin"], { ...home, __STDIN: password }), "filestore login");
    const results: Record<string, Measured[]> = { "upload CLI": [], "upload curl": [], "download CLI": [], "download curl": [] };

    /** One round: CLI and curl, up and down, of new content of `size` bytes. */
    const round = async (label: string, size: number): Promise<Record<string, Measured>> => {
      const src = await writeSource(work, `${label}-${randomBytes(3).toString("hex")}`, size);
      const out = path.join(work, `out-${label}`);
      await mkdir(out);
      const remote = `/${label}/${path.basename(src.file)}`;
      const m: Record<string, Measured> = {};
      try {
        m["upload CLI"] = await measure(serverPid, async () => {
          must(await run(process.execPath, [CLI, "-q", "upload", "-j", String(PARALLEL), src.file, `/${label}/`], home), "filestore upload");
        });
        const fileId = JSON.parse(must(await run(process.execPath, [CLI, "--json", "ls", remote], home), "ls").stdout).items[0].id as string;
        let bearer = await freshBearer();
        m["upload curl"] = await measure(serverPid, async () => {
          // The same session without the digest at init (the server holds this content now: with it, init would answer 秒传).
          const init = await trpcCurl(app.baseUrl, bearer, "upload.init", { name: "curl.bin", parentId: null, size, chunkSize: CHUNK });
          // --retry: a chunk answered 5xx is sent again, as the CLI does.
          const each = ["-sS", "--fail", "--retry", "3", "--retry-delay", "1", "-o", "/dev/null"];
          const args = ["--no-progress-meter", "-Z", "--parallel-max", String(PARALLEL), ...each];
          src.chunks.forEach((chunk, i) => {
            if (i > 0) args.push("--next", ...each);
            args.push("-X", "PUT", "-H", `authorization: ${bearer}`, "-H", "content-type: application/octet-stream", "-H", `content-digest: ${src.digests[i]}`, "-T", chunk, `${app.baseUrl}/api/uploads/${init.uploadId}/chunks/${i}`);
          });
          must(await run("curl", args), "curl chunk PUTs");
          const done = await trpcCurl(app.baseUrl, bearer, "upload.complete", { uploadId: init.uploadId });
          if (done.file.sha256 !== src.sha256) throw new Error("curl upload: wrong SHA-256");
        });
        m["download CLI"] = await measure(serverPid, async () => {
          must(await run(process.execPath, [CLI, "-q", "download", remote, path.join(out, "cli.bin")], home), "filestore download");
        });
        bearer = await freshBearer();
        m["download curl"] = await measure(serverPid, async () => {
          must(await run("curl", ["-sS", "--fail", "-H", `authorization: ${bearer}`, "-o", path.join(out, "curl.bin"), `${app.baseUrl}/api/files/${fileId}/content`]), "curl download");
        });
      } finally {
        await rm(out, { recursive: true, force: true });
        for (const f of [src.file, ...src.chunks]) await rm(f, { force: true });
      }
      return m;
    };

    await round("warmup", 64 * MiB); // JIT, connection pools: not measured
    for (let r = 0; r < RUNS; r++) {
      const m = await round(`run${r}`, SIZE);
      for (const [what, measured] of Object.entries(m)) results[what]!.push(measured);
    }

    console.log(`\n${SIZE / MiB} MiB, ${RUNS} run(s), chunks of ${CHUNK / MiB} MiB × ${PARALLEL}; load average at start: ${load}`);
    console.log("what            MB/s (each run)      server CPU s/GiB   client CPU s/GiB");
    for (const [what, ms] of Object.entries(results)) {
      const fmt = (xs: number[], d = 2) => xs.map((x) => x.toFixed(d)).join(" / ");
      console.log(
        `${what.padEnd(15)} ${fmt(ms.map(mbps), 0).padEnd(20)} ${fmt(ms.map((m) => perGiB(m.serverCpu))).padEnd(18)} ${fmt(ms.map((m) => perGiB(m.clientCpu)))}`,
      );
    }
    const ratio = (a: string, b: string) =>
      results[a]!.map((m, i) => (mbps(m) / mbps(results[b]![i]!)).toFixed(2)).join(" / ");
    console.log(`CLI ÷ curl, MB/s: upload ${ratio("upload CLI", "upload curl")}, download ${ratio("download CLI", "download curl")}`);
    console.log(
      "(The CLI's upload includes hashing the file first, for 秒传 and the whole-file check, and reading each chunk\n twice for its Content-Digest; curl's digests were computed before the timing. Its download hashes, fsyncs and renames.)",
    );
  } finally {
    await rm(work, { recursive: true, force: true });
  }
});
