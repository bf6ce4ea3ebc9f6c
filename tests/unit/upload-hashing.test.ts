import { createHash, randomBytes } from "node:crypto";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { describe, expect, it } from "vitest";
import { abandonChunk, chunkRecorded, liveHashStats, planChunk, settledDigest } from "~/server/services/uploads/live-hash";
import { COALESCE_BYTES, Meter } from "~/server/services/uploads/streams";

// The byte path's CPU savers: the meter hands storage ~1 MiB pieces however small the socket's
// reads were, and chunks that arrive ahead of the running whole-file hash wait in memory (bounded)
// and join the hash in order.

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

describe("Meter coalescing", () => {
  it("passes small pieces on as ~1 MiB pieces, bytes and order intact, the rest at the end", async () => {
    const data = randomBytes(3 * COALESCE_BYTES + 5000);
    const pieces: Buffer[] = [];
    for (let off = 0; off < data.length; off += 16 * KiB) pieces.push(data.subarray(off, off + 16 * KiB));
    const out = await collect(pieces, new Meter({ exact: data.length }));
    expect(Buffer.concat(out).equals(data)).toBe(true);
    expect(out.slice(0, -1).every((b) => b.length >= COALESCE_BYTES)).toBe(true);
    expect(out.length).toBe(4);
  });

  it("passes a big piece through without copying it", async () => {
    const big = randomBytes(2 * COALESCE_BYTES);
    const out = await collect([big], new Meter({}));
    expect(out).toHaveLength(1);
    expect(out[0]).toBe(big);
  });

  it("a body of the wrong length still fails, and nothing past the checks is passed on as complete", async () => {
    const data = randomBytes(100 * KiB);
    await expect(collect([data], new Meter({ exact: data.length + 1 }))).rejects.toThrow(/expected/);
  });
});

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
