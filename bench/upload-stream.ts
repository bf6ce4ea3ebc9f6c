/**
 * 1 GiB single-stream upload (POST /api/files) through the drive's raw handler, against a bare
 * node:http server doing only busboy + sha256 + file write, in the same run, alternating.
 *   npx tsx bench/upload-stream.ts            (BENCH_BYTES, BENCH_ROUNDS to change size/rounds)
 * Target: drive ≥ 0.9 × baseline.
 */
import { benchUser, runBench } from "./lib/env";
import { Content } from "./lib/data";
import { GiB, mbps, median, multipartFile, request } from "./lib/client";
import { startChild, type ChildServer } from "./lib/servers";

const size = Number(process.env.BENCH_BYTES ?? GiB);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);

await runBench(async () => {
  const user = await benchUser();
  const content = new Content(size, "stream01");
  const expected = content.sha256();
  const app = await startChild("app-server.ts");
  const baseFsync = await startChild("baseline-server.ts", { BASELINE_FSYNC: "1" });
  const baseNoFsync = await startChild("baseline-server.ts", { BASELINE_FSYNC: "0" });

  async function upload(server: ChildServer, auth: Record<string, string>): Promise<number> {
    const { headers, body } = multipartFile("big.bin", size, () => content.stream());
    const t = performance.now();
    const reply = await request(`${server.baseUrl}/api/files`, { method: "POST", headers: { ...headers, ...auth }, body });
    const ms = performance.now() - t;
    if (reply.status !== 201 || !reply.body.includes(expected)) throw new Error(`upload failed: ${reply.status} ${reply.body.slice(0, 300)}`);
    return ms;
  }

  const times = { app: [] as number[], fsync: [] as number[], nofsync: [] as number[] };
  await upload(app, user.auth); // warm-up (JIT, connections); also makes later rounds dedupe like re-uploads
  for (let r = 0; r < rounds; r++) {
    times.fsync.push(await upload(baseFsync, {}));
    times.app.push(await upload(app, user.auth));
    times.nofsync.push(await upload(baseNoFsync, {}));
  }
  const m = { app: median(times.app), fsync: median(times.fsync), nofsync: median(times.nofsync) };
  const line = (name: string, ms: number, all: number[]) =>
    console.log(`${name.padEnd(44)} ${mbps(size, ms).toFixed(0).padStart(5)} MB/s  (median of ${all.map((x) => (x / 1000).toFixed(2)).join(", ")} s)`);
  console.log(`single-stream upload of ${(size / GiB).toFixed(2)} GiB, ${rounds} rounds, load avg ${(await import("node:os")).loadavg()[0]!.toFixed(1)}`);
  line("baseline busboy+sha256+write, fsync", m.fsync, times.fsync);
  line("baseline busboy+sha256+write, no fsync", m.nofsync, times.nofsync);
  line("drive POST /api/files (custom-server handler)", m.app, times.app);
  console.log(`ratio drive / baseline (fsync, like the local driver): ${(m.fsync / m.app).toFixed(2)}×`);
  console.log(`ratio drive / baseline (no fsync):                     ${(m.nofsync / m.app).toFixed(2)}×`);
  await Promise.all([app.stop(), baseFsync.stop(), baseNoFsync.stop()]);
});
