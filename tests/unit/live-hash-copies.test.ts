import { createHash, randomBytes } from "node:crypto";
import { describe, expect, it, vi } from "vitest";

// The web process holds two copies of the upload services: the custom server's (chunk PUTs through
// the raw routes) and Next's compiled bundle (tRPC, where upload.complete runs). The running
// whole-content hash built by one copy must be what the other's complete sees, or complete reads
// the whole object back to hash it a second time.

describe("live hash across module copies", () => {
  it("a digest built through one copy of live-hash.ts is settled in another", async () => {
    const a = await import("~/server/services/uploads/live-hash");
    vi.resetModules();
    const b = await import("~/server/services/uploads/live-hash");
    expect(b).not.toBe(a);
    const session = { id: `copies-${randomBytes(4).toString("hex")}`, chunkCount: 2, chunkSize: 4 };
    const data = randomBytes(8);
    const persisted: string[] = [];
    const persist = async (_id: string, digest: string) => void persisted.push(digest);
    for (const index of [0, 1]) {
      const plan = await a.planChunk(session, index, 4, false);
      expect(plan.mode).toBe("inline");
      if (plan.mode === "inline") plan.hash.update(data.subarray(index * 4, index * 4 + 4));
      a.chunkRecorded(session.id, index, plan, true, persist);
    }
    const expected = createHash("sha256").update(data).digest("hex");
    expect(await b.settledDigest(session.id)).toBe(expected);
    expect(persisted).toEqual([expected]);
    b.dropLiveHash(session.id);
    expect(await a.settledDigest(session.id)).toBeNull();
  });
});
