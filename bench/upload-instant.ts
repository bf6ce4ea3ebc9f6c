/**
 * 秒传 of a known file: upload.init with the sha256 → challenge → prove, for a 64 MiB and a 1 GiB
 * file already in the drive. The time must not depend on the size (ranged reads of ≤ 16 × 64 KiB).
 *   npx tsx bench/upload-instant.ts          (BENCH_ROUNDS)
 */
import { createHash } from "node:crypto";
import os from "node:os";
import { benchUser, runBench } from "./lib/env";
import { Content } from "./lib/data";
import { GiB, MiB, median, multipartFile, request } from "./lib/client";
import { startChild } from "./lib/servers";
import { trpcClient } from "./lib/trpc";

const rounds = Number(process.env.BENCH_ROUNDS ?? 7);

await runBench(async () => {
  const app = await startChild("app-server.ts");
  const owner = await benchUser();
  const results: Array<{ size: number; times: number[] }> = [];
  for (const size of [64 * MiB, GiB]) {
    const content = new Content(size, `inst${size}`);
    const sha256 = content.sha256();
    const { headers, body } = multipartFile("known.bin", size, () => content.stream());
    const up = await request(`${app.baseUrl}/api/files`, { method: "POST", headers: { ...headers, ...owner.auth }, body });
    if (up.status !== 201) throw new Error(`seeding upload failed: ${up.status}`);
    const times: number[] = [];
    for (let r = 0; r < rounds + 1; r++) {
      const user = await benchUser();
      const api = trpcClient(app.baseUrl, user.auth);
      const t = performance.now();
      const s = await api.upload.init.mutate({ name: `copy${r}.bin`, size, sha256 });
      if (!("instant" in s)) throw new Error("expected a challenge");
      const h = createHash("sha256");
      for (const g of s.instant.ranges) h.update(content.slice(g.offset, g.length));
      const { file } = await api.upload.prove.mutate({ uploadId: s.uploadId, challengeId: s.instant.challengeId, proof: h.digest("hex") });
      const ms = performance.now() - t;
      if (file.sha256 !== sha256) throw new Error("wrong file");
      if (r > 0) times.push(ms); // round 0 warms up
    }
    results.push({ size, times });
  }
  console.log(`秒传 (init + challenge + prove), ${rounds} rounds each, load avg ${os.loadavg()[0]!.toFixed(1)}`);
  for (const { size, times } of results) {
    console.log(`${(size / MiB).toFixed(0).padStart(5)} MiB file: median ${median(times).toFixed(1)} ms  (${times.map((x) => x.toFixed(0)).join(", ")} ms)`);
  }
  console.log(`ratio 1 GiB / 64 MiB: ${(median(results[1]!.times) / median(results[0]!.times)).toFixed(2)}× (size ratio 16×)`);
  await app.stop();
});
