/**
 * The same file (1 GiB) chunked (8 MiB chunks, 4 in parallel: init → PUT chunks → complete)
 * against one single-stream POST /api/files to the same drive server, and the bare baseline
 * server (busboy + SHA-256 + write + fsync) in its own process, alternating in one run. The client
 * streams a file written (and cached) before timing. Prints MB/s and each server's CPU s/GiB, and
 * how long complete takes (it must not grow with the file: no read-back, no copy).
 *   flock /tmp/filestore-bench.lock npx tsx bench/upload-chunked.ts
 *     (BENCH_BYTES, BENCH_ROUNDS, BENCH_PARALLEL, BENCH_CHUNK)
 * Targets: chunked ≥ 0.9× single stream MB/s; chunked ≤ 1.4× the baseline's CPU per GiB.
 */
import os from "node:os";
import { benchUser, runBench } from "./lib/env";
import { GiB, MiB, median, multipartFile, request } from "./lib/client";
import { line, measure, summarise, type Measured } from "./lib/cpu";
import { PrewrittenFile } from "./lib/prewritten";
import { startChild, type ChildServer } from "./lib/servers";
import { trpcClient } from "./lib/trpc";

const size = Number(process.env.BENCH_BYTES ?? GiB);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const parallel = Number(process.env.BENCH_PARALLEL ?? 4);
const chunkSize = Number(process.env.BENCH_CHUNK ?? 8 * MiB);

await runBench(async () => {
  const file = await PrewrittenFile.create(size, "chunked01");
  const app = await startChild("app-server.ts");
  const baseline = await startChild("baseline-server.ts", { BASELINE_FSYNC: "1" });
  const load0 = os.loadavg()[0]!;
  const completeMs: number[] = [];

  async function uploadSingle(server: ChildServer, auth: Record<string, string>): Promise<Measured> {
    const content = file.variant();
    const { headers, body } = multipartFile("one.bin", size, () => content.stream());
    let reply = { status: 0, body: "" };
    const m = await measure(server.child.pid!, async () => {
      reply = await request(`${server.baseUrl}/api/files`, { method: "POST", headers: { ...headers, ...auth }, body });
    });
    if (reply.status !== 201 || !reply.body.includes(content.sha256)) throw new Error(`single upload failed: ${reply.status} ${reply.body.slice(0, 300)}`);
    return m;
  }

  async function uploadChunked(): Promise<Measured> {
    const user = await benchUser();
    const api = trpcClient(app.baseUrl, user.auth);
    const content = file.variant();
    return measure(app.child.pid!, async () => {
      const s = await api.upload.init.mutate({ name: "chunked.bin", size, sha256: content.sha256, chunkSize });
      if ("instant" in s) throw new Error("unexpected 秒传");
      let next = 0;
      const worker = async () => {
        for (;;) {
          const i = next++;
          if (i >= s.chunkCount) return;
          const offset = i * s.chunkSize;
          const length = Math.min(s.chunkSize, size - offset);
          const r = await request(`${app.baseUrl}/api/uploads/${s.uploadId}/chunks/${i}`, {
            method: "PUT",
            headers: { ...user.auth, "content-type": "application/octet-stream", "content-length": String(length) },
            body: content.stream(offset, length),
          });
          if (r.status !== 200) throw new Error(`chunk ${i}: ${r.status} ${r.body}`);
        }
      };
      await Promise.all(Array.from({ length: parallel }, worker));
      const tc = performance.now();
      const { file: done } = await api.upload.complete.mutate({ uploadId: s.uploadId });
      completeMs.push(performance.now() - tc);
      if (done.sha256 !== content.sha256) throw new Error("digest mismatch");
    });
  }

  const user = await benchUser();
  await uploadSingle(app, user.auth);
  await uploadSingle(baseline, {});
  await uploadChunked();
  completeMs.length = 0;
  const runs = { base: [] as Measured[], single: [] as Measured[], chunked: [] as Measured[] };
  for (let r = 0; r < rounds; r++) {
    runs.base.push(await uploadSingle(baseline, {}));
    runs.single.push(await uploadSingle(app, user.auth));
    runs.chunked.push(await uploadChunked());
  }
  const s = { base: summarise(size, runs.base), single: summarise(size, runs.single), chunked: summarise(size, runs.chunked) };
  console.log(
    `${(size / GiB).toFixed(2)} GiB, ${rounds} rounds, chunks ${chunkSize / MiB} MiB × ${parallel} parallel, ${os.cpus().length} cores, load avg ${load0.toFixed(1)} → ${os.loadavg()[0]!.toFixed(1)}`,
  );
  console.log(line("baseline busboy+sha256+write+fsync", s.base));
  console.log(line("drive single stream POST /api/files", s.single));
  console.log(line("drive chunked init+PUTs+complete", s.chunked));
  console.log(`upload.complete alone: median ${median(completeMs).toFixed(0)} ms  (${completeMs.map((x) => x.toFixed(0)).join(", ")} ms)`);
  console.log(`chunked / single: ${(s.chunked.mbps / s.single.mbps).toFixed(2)}× MB/s, ${(s.chunked.cpuPerGiB / s.single.cpuPerGiB).toFixed(2)}× CPU per GiB (user ${(s.chunked.userPerGiB / s.single.userPerGiB).toFixed(2)}×)`);
  console.log(`single / baseline: ${(s.single.mbps / s.base.mbps).toFixed(2)}× MB/s, ${(s.single.cpuPerGiB / s.base.cpuPerGiB).toFixed(2)}× CPU per GiB (user ${(s.single.userPerGiB / s.base.userPerGiB).toFixed(2)}×)`);
  console.log(`chunked / baseline: ${(s.chunked.mbps / s.base.mbps).toFixed(2)}× MB/s, ${(s.chunked.cpuPerGiB / s.base.cpuPerGiB).toFixed(2)}× CPU per GiB (user ${(s.chunked.userPerGiB / s.base.userPerGiB).toFixed(2)}×)`);
  await Promise.all([app.stop(), baseline.stop()]);
  await file.remove();
});
