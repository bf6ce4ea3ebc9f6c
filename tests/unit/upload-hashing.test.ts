import { createHash, randomBytes } from "node:crypto";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { describe, expect, it } from "vitest";
import { abandonChunk, chunkRecorded, liveHashStats, planChunk, settledDigest } from "~/server/services/uploads/live-hash";
import { Meter } from "~/server/services/uploads/streams";

// Chunks that arrive ahead of the running whole-file hash (parallel uploads) wait in memory, bounded,
// and join the hash in order, instead of being read back from storage.

const KiB = 1024;

async function collect(pieces: Buffer[], meter: Meter): Promise<Buffer[]> {
  const out: Buffer[] = [];
  await pipeline(
    Readable.from(pieces),
    meter,
    new Writable({
      write(chunk: Buffer, _enc, done) {
        out.push(chunk);
        done();
      },
    }),
  );
  return out;
}

describe("live hash: chunks ahead of the hash wait in memory", () => {
  const chunk = 256 * KiB;
  const session = (id: string, count: number) => ({ id, chunkCount: count, chunkSize: chunk });

  async function send(s: ReturnType<typeof session>, data: Buffer, index: number, persist: (id: string, d: string) => Promise<void>) {
    const bytes = data.subarray(index * chunk, (index + 1) * chunk);
    const plan = await planChunk(s, index, bytes.length, false);
    const meter = new Meter({
      exact: bytes.length,
      alsoHash: plan.mode === "inline" ? plan.hash : null,
      keep: plan.mode === "memory" ? plan.buffers : null,
      digest: false,
    });
    await collect([bytes], meter);
    return { plan, record: () => chunkRecorded(s.id, index, plan, true, persist) };
  }

  it("out-of-order chunks are held in memory, hashed in order, and the memory is given back", async () => {
    const s = session(`mem-${randomBytes(4).toString("hex")}`, 4);
    const data = randomBytes(4 * chunk);
    const saved: string[] = [];
    const persist = async (_id: string, d: string) => void saved.push(d);
    const before = liveHashStats().memoryBytes;
    // Chunks 3, 1, 2 arrive before 0 (four parallel requests).
    const sent = [];
    for (const i of [3, 1, 2]) sent.push(await send(s, data, i, persist));
    expect(sent.map((x) => x.plan.mode)).toEqual(["memory", "memory", "memory"]);
    expect(liveHashStats().memoryBytes - before).toBe(3 * chunk);
    for (const x of sent) x.record();
    const first = await send(s, data, 0, persist);
    expect(first.plan.mode).toBe("inline");
    first.record();
    expect(await settledDigest(s.id)).toBe(createHash("sha256").update(data).digest("hex"));
    expect(saved).toEqual([createHash("sha256").update(data).digest("hex")]);
    expect(liveHashStats().memoryBytes).toBe(before);
  });

  it("an abandoned chunk gives its memory back", async () => {
    const s = session(`mem-${randomBytes(4).toString("hex")}`, 2);
    const before = liveHashStats().memoryBytes;
    await planChunk(s, 0, chunk, false);
    const plan = await planChunk(s, 1, chunk, false);
    expect(plan.mode).toBe("memory");
    abandonChunk(s.id, 1, plan);
    expect(liveHashStats().memoryBytes).toBe(before);
  });
});
