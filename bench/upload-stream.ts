/**
 * Single-stream upload (POST /api/files, 1 GiB) through the drive's raw handler, against a bare
 * node:http server doing only busboy + SHA-256 + file write (with and without fsync), each server
 * a process of its own, alternating in one run. The client streams a file written (and cached)
 * before timing. Prints MB/s and each server's CPU seconds per GiB (/proc/<pid>/stat).
 *   flock /tmp/filestore-bench.lock npx tsx bench/upload-stream.ts     (BENCH_BYTES, BENCH_ROUNDS)
 * Targets: drive ≥ 0.9× the bare server's MB/s, ≤ 1.25× its CPU per GiB.
 */
import os from "node:os";
import { benchUser, runBench } from "./lib/env";
import { GiB, multipartFile, request } from "./lib/client";
import { line, measure, summarise, type Measured } from "./lib/cpu";
import { PrewrittenFile } from "./lib/prewritten";
import { startChild, type ChildServer } from "./lib/servers";

const size = Number(process.env.BENCH_BYTES ?? GiB);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);

await runBench(async () => {
  const user = await benchUser();
  const file = await PrewrittenFile.create(size, "stream01");
  const app = await startChild("app-server.ts");
  const baseFsync = await startChild("baseline-server.ts", { BASELINE_FSYNC: "1" });
  const baseNoFsync = await startChild("baseline-server.ts", { BASELINE_FSYNC: "0" });
  const load0 = os.loadavg()[0]!;

  async function upload(server: ChildServer, auth: Record<string, string>): Promise<Measured> {
    const content = file.variant();
    const { headers, body } = multipartFile("big.bin", size, () => content.stream());
    let reply = { status: 0, body: "" };
    const m = await measure(server.child.pid!, async () => {
      reply = await request(`${server.baseUrl}/api/files`, { method: "POST", headers: { ...headers, ...auth }, body });
    });
    if (reply.status !== 201 || !reply.body.includes(content.sha256)) throw new Error(`upload failed: ${reply.status} ${reply.body.slice(0, 300)}`);
    return m;
  }

  const runs = { app: [] as Measured[], fsync: [] as Measured[], nofsync: [] as Measured[] };
  // Warm-up (JIT, connections) of every server.
  await upload(app, user.auth);
  await upload(baseFsync, {});
  await upload(baseNoFsync, {});
  for (let r = 0; r < rounds; r++) {
    runs.fsync.push(await upload(baseFsync, {}));
    runs.app.push(await upload(app, user.auth));
    runs.nofsync.push(await upload(baseNoFsync, {}));
  }
  const s = { app: summarise(size, runs.app), fsync: summarise(size, runs.fsync), nofsync: summarise(size, runs.nofsync) };
  console.log(`single-stream upload of ${(size / GiB).toFixed(2)} GiB, ${rounds} rounds, ${os.cpus().length} cores, load avg ${load0.toFixed(1)} → ${os.loadavg()[0]!.toFixed(1)}`);
  console.log(line("baseline busboy+sha256+write, fsync", s.fsync));
  console.log(line("baseline busboy+sha256+write, no fsync", s.nofsync));
  console.log(line("drive POST /api/files", s.app));
  console.log(`drive / baseline (fsync, like the local driver): ${(s.app.mbps / s.fsync.mbps).toFixed(2)}× MB/s, ${(s.app.cpuPerGiB / s.fsync.cpuPerGiB).toFixed(2)}× CPU per GiB (user ${(s.app.userPerGiB / s.fsync.userPerGiB).toFixed(2)}×)`);
  console.log(`drive / baseline (no fsync):                     ${(s.app.mbps / s.nofsync.mbps).toFixed(2)}× MB/s, ${(s.app.cpuPerGiB / s.nofsync.cpuPerGiB).toFixed(2)}× CPU per GiB (user ${(s.app.userPerGiB / s.nofsync.userPerGiB).toFixed(2)}×)`);
  await Promise.all([app.stop(), baseFsync.stop(), baseNoFsync.stop()]);
  await file.remove();
});
