/**
 * tus 1.0.0 (/api/tus) against POST /api/files, same server, same run: the same content uploaded
 * by one streamed multipart POST, by one tus PATCH (what tus-js-client and Uppy send by default),
 * and by PATCHes of fixed sizes (a client with `chunkSize`). Storage parts are 8 MiB: PATCHes of
 * 8 MiB line up with them, 5 MiB and 1 MiB PATCHes leave a tail object that the next PATCH re-reads.
 *   npx tsx bench/upload-tus.ts          (BENCH_BYTES, BENCH_ROUNDS)
 */
import os from "node:os";
import { benchUser, runBench } from "./lib/env";
import { Content } from "./lib/data";
import { GiB, MiB, mbps, median, multipartFile, request } from "./lib/client";
import { startChild } from "./lib/servers";

const size = Number(process.env.BENCH_BYTES ?? 512 * MiB);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
/** PATCH sizes to measure (Infinity: the whole file in one PATCH). 1 MiB PATCHes on a quarter of the size. */
const variants: Array<{ label: string; patch: number; bytes: number }> = [
  { label: "tus, one PATCH", patch: Infinity, bytes: size },
  { label: "tus, 8 MiB PATCHes", patch: 8 * MiB, bytes: size },
  { label: "tus, 5 MiB PATCHes", patch: 5 * MiB, bytes: size },
  { label: "tus, 1 MiB PATCHes", patch: MiB, bytes: Math.max(MiB, Math.floor(size / 4)) },
];

await runBench(async () => {
  const app = await startChild("app-server.ts");
  let seq = 0;

  async function viaForm(bytes: number): Promise<number> {
    const user = await benchUser();
    const content = new Content(bytes, `tf${seq++}`);
    const { headers, body } = multipartFile("form.bin", bytes, () => content.stream());
    const t = performance.now();
    const r = await request(`${app.baseUrl}/api/files`, { method: "POST", headers: { ...headers, ...user.auth }, body });
    if (r.status !== 201) throw new Error(`POST /api/files: ${r.status} ${r.body}`);
    return performance.now() - t;
  }

  async function viaTus(bytes: number, patch: number): Promise<number> {
    const user = await benchUser();
    const content = new Content(bytes, `tt${seq++}`);
    const tus = { ...user.auth, "tus-resumable": "1.0.0" };
    const t = performance.now();
    const created = await request(`${app.baseUrl}/api/tus`, {
      method: "POST",
      headers: { ...tus, "upload-length": String(bytes), "upload-metadata": `filename ${Buffer.from("tus.bin").toString("base64")}` },
    });
    const location = created.headers.location;
    if (created.status !== 201 || !location) throw new Error(`tus POST: ${created.status} ${created.body}`);
    const url = new URL(location, app.baseUrl).toString();
    for (let offset = 0; offset < bytes; ) {
      const length = Math.min(patch, bytes - offset);
      const r = await request(url, {
        method: "PATCH",
        headers: { ...tus, "content-type": "application/offset+octet-stream", "upload-offset": String(offset), "content-length": String(length) },
        body: content.stream(offset, length),
      });
      if (r.status !== 204) throw new Error(`tus PATCH at ${offset}: ${r.status} ${r.body}`);
      const next = Number(r.headers["upload-offset"]);
      if (next !== offset + length) throw new Error(`tus PATCH at ${offset}: server is at ${next}, expected ${offset + length}`);
      offset = next;
    }
    return performance.now() - t;
  }

  await viaForm(8 * MiB);
  await viaTus(8 * MiB, Infinity);
  const results = variants.map((v) => ({ ...v, form: [] as number[], tus: [] as number[] }));
  for (let r = 0; r < rounds; r++) {
    for (const v of results) {
      v.form.push(await viaForm(v.bytes));
      v.tus.push(await viaTus(v.bytes, v.patch));
    }
  }
  console.log(`tus vs POST /api/files, ${rounds} rounds, local disk, load avg ${os.loadavg()[0]!.toFixed(1)}`);
  for (const v of results) {
    const f = median(v.form);
    const t = median(v.tus);
    const amount = v.bytes >= GiB ? `${(v.bytes / GiB).toFixed(2)} GiB` : `${(v.bytes / MiB).toFixed(0)} MiB`;
    console.log(
      `${v.label.padEnd(22)} ${amount.padStart(8)}: tus ${mbps(v.bytes, t).toFixed(0).padStart(4)} MB/s, POST /api/files ${mbps(v.bytes, f).toFixed(0).padStart(4)} MB/s, ratio ${(f / t).toFixed(2)}×`,
    );
  }
  await app.stop();
});
