/**
 * The same 1 GiB file chunked (8 MiB chunks, 4 in parallel: init → PUT chunks → complete) against
 * one single-stream POST /api/files, same server, same run, alternating. Also reports how long
 * complete takes (it must not grow with the file: no read-back, no copy).
 *   npx tsx bench/upload-chunked.ts          (BENCH_BYTES, BENCH_ROUNDS, BENCH_PARALLEL, BENCH_CHUNK)
 * Target: chunked ≥ 0.9 × single stream.
 */
import os from "node:os";
import { benchUser, runBench } from "./lib/env";
import { Content } from "./lib/data";
import { GiB, MiB, mbps, median, multipartFile, request } from "./lib/client";
import { startChild } from "./lib/servers";
import { trpcClient } from "./lib/trpc";

const size = Number(process.env.BENCH_BYTES ?? GiB);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const parallel = Number(process.env.BENCH_PARALLEL ?? 4);
const chunkSize = Number(process.env.BENCH_CHUNK ?? 8 * MiB);

await runBench(async () => {
  const app = await startChild("app-server.ts");
  const single = { times: [] as number[] };
  const chunked = { times: [] as number[], complete: [] as number[] };

  async function uploadSingle(seed: string) {
    const user = await benchUser();
    const content = new Content(size, seed);
    const { headers, body } = multipartFile("one.bin", size, () => content.stream());
    const t = performance.now();
    const reply = await request(`${app.baseUrl}/api/files`, { method: "POST", headers: { ...headers, ...user.auth }, body });
    if (reply.status !== 201) throw new Error(`single upload failed: ${reply.status} ${reply.body}`);
    return performance.now() - t;
  }

  async function uploadChunked(seed: string, expected: string) {
    const user = await benchUser();
    const api = trpcClient(app.baseUrl, user.auth);
    const content = new Content(size, seed);
    const t = performance.now();
    const s = await api.upload.init.mutate({ name: "chunked.bin", size, sha256: expected, chunkSize });
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
    const { file } = await api.upload.complete.mutate({ uploadId: s.uploadId });
    const end = performance.now();
    if (file.sha256 !== expected) throw new Error("digest mismatch");
    chunked.complete.push(end - tc);
    return end - t;
  }

  // Distinct content every upload (no dedupe shortcut); digests precomputed outside the timing.
  const seeds = Array.from({ length: rounds + 1 }, (_, r) => `ck${r}`);
  const digests = seeds.map((s) => new Content(size, s).sha256());
  await uploadSingle("warm-s");
  for (let r = 0; r < rounds; r++) {
    single.times.push(await uploadSingle(`single${r}`));
    chunked.times.push(await uploadChunked(seeds[r]!, digests[r]!));
  }
  const ms = median(single.times);
  const mc = median(chunked.times);
  console.log(`${(size / GiB).toFixed(2)} GiB, ${rounds} rounds, chunks ${chunkSize / MiB} MiB × ${parallel} parallel, load avg ${os.loadavg()[0]!.toFixed(1)}`);
  console.log(`single stream POST /api/files   ${mbps(size, ms).toFixed(0).padStart(5)} MB/s  (${single.times.map((x) => (x / 1000).toFixed(2)).join(", ")} s)`);
  console.log(`chunked init+PUTs+complete      ${mbps(size, mc).toFixed(0).padStart(5)} MB/s  (${chunked.times.map((x) => (x / 1000).toFixed(2)).join(", ")} s)`);
  console.log(`upload.complete alone           median ${median(chunked.complete).toFixed(0)} ms  (${chunked.complete.map((x) => x.toFixed(0)).join(", ")} ms)`);
  console.log(`ratio chunked / single: ${(ms / mc).toFixed(2)}×`);
  await app.stop();
});
