/**
 * tus 1.0.0 (/api/tus) against POST /api/files on the same drive server, and the bare baseline
 * server (busboy + SHA-256 + write + fsync) in its own process, in one run: the same bytes uploaded
 * by one streamed multipart POST, by one tus PATCH (what tus-js-client and Uppy send by default),
 * and by PATCHes of fixed sizes (a client with `chunkSize`). Storage parts are 8 MiB: PATCHes of
 * 8 MiB line up with them, 5 MiB and 1 MiB PATCHes leave a tail object that the next PATCH
 * re-reads. The client streams a file written (and cached) before timing. Prints MB/s and each
 * server's CPU s/GiB.
 *   flock /tmp/filestore-bench.lock npx tsx bench/upload-tus.ts          (BENCH_BYTES, BENCH_ROUNDS)
 */
import os from "node:os";
import { benchUser, runBench } from "./lib/env";
import { GiB, MiB, multipartFile, request } from "./lib/client";
import { line, measure, summarise, type Measured } from "./lib/cpu";
import { PrewrittenFile } from "./lib/prewritten";
import { startChild, type ChildServer } from "./lib/servers";

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
  const files = new Map<number, PrewrittenFile>();
  for (const bytes of new Set([8 * MiB, ...variants.map((v) => v.bytes)])) files.set(bytes, await PrewrittenFile.create(bytes, `tus${bytes}`));
  const app = await startChild("app-server.ts");
  const baseline = await startChild("baseline-server.ts", { BASELINE_FSYNC: "1" });
  const load0 = os.loadavg()[0]!;

  async function viaForm(server: ChildServer, bytes: number): Promise<Measured> {
    const auth = server === app ? (await benchUser()).auth : {};
    const content = files.get(bytes)!.variant();
    const { headers, body } = multipartFile("form.bin", bytes, () => content.stream());
    let r = { status: 0, body: "" };
    const m = await measure(server.child.pid!, async () => {
      r = await request(`${server.baseUrl}/api/files`, { method: "POST", headers: { ...headers, ...auth }, body });
    });
    if (r.status !== 201 || !r.body.includes(content.sha256)) throw new Error(`POST /api/files: ${r.status} ${r.body}`);
    return m;
  }

  async function viaTus(bytes: number, patch: number): Promise<Measured> {
    const user = await benchUser();
    const content = files.get(bytes)!.variant();
    const tus = { ...user.auth, "tus-resumable": "1.0.0" };
    return measure(app.child.pid!, async () => {
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
    });
  }

  await viaForm(app, 8 * MiB);
  await viaForm(baseline, 8 * MiB);
  await viaTus(8 * MiB, Infinity);
  const results = variants.map((v) => ({ ...v, base: [] as Measured[], form: [] as Measured[], tus: [] as Measured[] }));
  for (let r = 0; r < rounds; r++) {
    for (const v of results) {
      v.base.push(await viaForm(baseline, v.bytes));
      v.form.push(await viaForm(app, v.bytes));
      v.tus.push(await viaTus(v.bytes, v.patch));
    }
  }
  console.log(`tus vs POST /api/files vs the bare baseline, ${rounds} rounds, local disk, ${os.cpus().length} cores, load avg ${load0.toFixed(1)} → ${os.loadavg()[0]!.toFixed(1)}`);
  for (const v of results) {
    const amount = v.bytes >= GiB ? `${(v.bytes / GiB).toFixed(2)} GiB` : `${(v.bytes / MiB).toFixed(0)} MiB`;
    const s = { base: summarise(v.bytes, v.base), form: summarise(v.bytes, v.form), tus: summarise(v.bytes, v.tus) };
    console.log(`${v.label}, ${amount}:`);
    console.log(line("  baseline busboy+sha256+write+fsync", s.base));
    console.log(line("  drive POST /api/files", s.form));
    console.log(line(`  drive ${v.label}`, s.tus));
    console.log(`  tus / POST: ${(s.tus.mbps / s.form.mbps).toFixed(2)}× MB/s, ${(s.tus.cpuPerGiB / s.form.cpuPerGiB).toFixed(2)}× CPU per GiB; tus / baseline CPU per GiB ${(s.tus.cpuPerGiB / s.base.cpuPerGiB).toFixed(2)}×`);
  }
  await Promise.all([app.stop(), baseline.stop()]);
  for (const f of files.values()) await f.remove();
});
