/**
 * Server memory under load: 8 concurrent 1 GiB single-stream uploads (distinct content) into one
 * drive server process; its peak resident set (VmHWM from /proc/<pid>/status) is reported.
 *   npx tsx bench/upload-memory.ts           (BENCH_BYTES, BENCH_CONCURRENCY)
 * Target: peak RSS < 300 MB.
 */
import os from "node:os";
import { benchUser, runBench } from "./lib/env";
import { Content } from "./lib/data";
import { GiB, MiB, mbps, multipartFile, request } from "./lib/client";
import { startChild } from "./lib/servers";

const size = Number(process.env.BENCH_BYTES ?? GiB);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 8);

await runBench(async () => {
  const app = await startChild("app-server.ts");
  const users = await Promise.all(Array.from({ length: concurrency }, () => benchUser()));
  // One small upload first so the idle figure includes loaded modules and warm pools.
  const warm = new Content(MiB, "warm");
  const w = multipartFile("warm.bin", MiB, () => warm.stream());
  await request(`${app.baseUrl}/api/files`, { method: "POST", headers: { ...w.headers, ...users[0]!.auth }, body: w.body });
  const idle = await app.memory();
  const idleDetail = await app.memoryBreakdown();
  let sampledMax = 0;
  const sampler = setInterval(() => void app.memory().then((m) => (sampledMax = Math.max(sampledMax, m.rss))), 100);
  const t = performance.now();
  const replies = await Promise.all(
    users.map((user, i) => {
      const content = new Content(size, `mem${i}`);
      const { headers, body } = multipartFile(`big${i}.bin`, size, () => content.stream());
      return request(`${app.baseUrl}/api/files`, { method: "POST", headers: { ...headers, ...user.auth }, body });
    }),
  );
  const ms = performance.now() - t;
  clearInterval(sampler);
  for (const r of replies) if (r.status !== 201) throw new Error(`upload failed: ${r.status} ${r.body.slice(0, 200)}`);
  const end = await app.memory();
  const endDetail = await app.memoryBreakdown();
  console.log(`${concurrency} concurrent uploads of ${(size / GiB).toFixed(2)} GiB, load avg ${os.loadavg()[0]!.toFixed(1)}`);
  console.log(`server RSS idle (after warm-up): ${(idle.rss / MiB).toFixed(0)} MiB   (${idleDetail})`);
  console.log(`server peak RSS (VmHWM):         ${(end.peak / MiB).toFixed(0)} MiB   (highest 100 ms sample ${(sampledMax / MiB).toFixed(0)} MiB)`);
  console.log(`server at the end:               ${endDetail}`);
  console.log(`aggregate throughput:            ${mbps(size * concurrency, ms).toFixed(0)} MB/s over ${(ms / 1000).toFixed(1)} s`);
  await app.stop();
});
