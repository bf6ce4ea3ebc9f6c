import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { db } from "~/server/db/client";
import { liveHashStats } from "~/server/services/uploads/live-hash";
import { getStorage } from "~/server/storage";
import { startHttpServer, type TestHttpServer } from "../helpers/http-server";
import { patternBytes, sendChunk, sha256hex } from "../helpers/upload-client";
import { createTestUser } from "../helpers/users";

// A long chunked upload sent the way clients send it (several chunks in flight at once, each worker
// taking the next index): the running whole-content SHA-256 must keep up through every chunk, so
// complete never reads the object back.

let http: TestHttpServer;
beforeAll(async () => {
  await getStorage().check();
  http = await startHttpServer();
});
afterAll(async () => {
  await http.close();
});

const MiB = 1024 * 1024;

describe("the live hash of a long parallel chunked upload", () => {
  it("48 chunks, 4 in flight: the digest is known before complete", async () => {
    const user = await createTestUser();
    const data = patternBytes(48 * MiB, 4801);
    const s = await user.caller.upload.init({ name: "long.bin", size: data.length, chunkSize: MiB });
    if (!("chunkCount" in s)) throw new Error("expected a chunked session");
    let next = 0;
    const worker = async () => {
      for (;;) {
        const i = next++;
        if (i >= s.chunkCount) return;
        const r = await sendChunk(http.baseUrl, user.authHeaders, s.uploadId, i, data.subarray(i * MiB, (i + 1) * MiB));
        expect(r.status).toBe(200);
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
    await expect
      .poll(async () => (await db.$primary().uploadSession.findUniqueOrThrow({ where: { id: s.uploadId } })).contentSha256, { timeout: 20_000 })
      .toBe(sha256hex(data));
    const { file } = await user.caller.upload.complete({ uploadId: s.uploadId });
    expect(file.sha256).toBe(sha256hex(data));
    expect(liveHashStats().spoolBytes).toBe(0);
  });
});
