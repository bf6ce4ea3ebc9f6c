import { createHash } from "node:crypto";
import { runQueuedJobs } from "./jobs";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { db } from "~/server/db/client";
import { getStorage } from "~/server/storage";
import { throttles } from "~/server/services/uploads/limits";
import { dropLiveHash } from "~/server/services/uploads/live-hash";
import { sweepExpiredUploads } from "~/server/services/uploads/sweep";
import { startHttpServer, type TestHttpServer } from "./http-server";
import {
  contentDigest,
  patternBytes,
  quotaOf,
  rawRequest,
  readBlob,
  sendChunk,
  sendChunkMultipart,
  sha256hex,
  visibleFiles,
} from "./upload-client";
import { createTestUser, type TestUser } from "./users";

// The chunked-upload and 秒传 behaviour suite (API.md "Upload sessions"), run once per storage
// driver: tests/integration/uploads-chunked.test.ts (local) and uploads-chunked-s3.test.ts (Ceph).

type InitReply = { uploadId: string; chunkSize: number; chunkCount: number; received: number[]; expiresAt: Date };
type InstantReply = { uploadId: string; instant: { challengeId: string; ranges: Array<{ offset: number; length: number }> } };

async function trpcError(p: Promise<unknown>): Promise<{ code: string; data: any; message: string }> {
  try {
    await p;
  } catch (e) {
    const err = e as { code?: string; message: string; cause?: { code?: string; details?: unknown } };
    return { code: err.code ?? "?", data: err.cause ?? null, message: err.message };
  }
  throw new Error("expected the call to fail");
}

function proofFor(data: Buffer, ranges: Array<{ offset: number; length: number }>): string {
  const h = createHash("sha256");
  for (const r of ranges) h.update(data.subarray(r.offset, r.offset + r.length));
  return h.digest("hex");
}

function chunkOf(data: Buffer, chunkSize: number, index: number): Buffer {
  return data.subarray(index * chunkSize, Math.min(data.length, (index + 1) * chunkSize));
}

export function defineUploadSuite(driverLabel: string) {
  let http: TestHttpServer;
  let chunkSize: number;

  beforeAll(async () => {
    await getStorage().check();
    http = await startHttpServer();
    chunkSize = Math.max(1024 * 1024, getStorage().capabilities.minPartBytes);
  });
  afterAll(async () => {
    await http.close();
  });

  async function init(user: TestUser, input: { name: string; size: number; sha256?: string; parentId?: string | null; chunkSize?: number }) {
    return user.caller.upload.init({ chunkSize, ...input }) as Promise<InitReply | InstantReply>;
  }

  async function initNormal(user: TestUser, input: Parameters<typeof init>[1]): Promise<InitReply> {
    const r = await init(user, input);
    if ("instant" in r) throw new Error("unexpected instant reply");
    return r;
  }

  async function uploadAll(user: TestUser, s: InitReply, data: Buffer, order?: number[]) {
    const indices = order ?? [...Array(s.chunkCount).keys()];
    for (const i of indices) {
      const r = await sendChunk(http.baseUrl, user.authHeaders, s.uploadId, i, chunkOf(data, s.chunkSize, i));
      expect(r.status, JSON.stringify(r.json)).toBe(200);
    }
  }

  /** Completes `s` and checks the file, and the bytes stored for it, are exactly `data` (the user's only file). */
  async function completeIntact(user: TestUser, s: InitReply, data: Buffer) {
    const { file } = await user.caller.upload.complete({ uploadId: s.uploadId });
    expect(file.sha256).toBe(sha256hex(data));
    const [entry] = await visibleFiles(user.actor.userId);
    expect(sha256hex(await readBlob(entry!.blob!.storageKey))).toBe(sha256hex(data));
  }

  /** A complete file of `bytes` in the drive of `user`, uploaded in chunks; returns its data. */
  async function uploadFile(user: TestUser, name: string, bytes: number, seed: number) {
    const data = patternBytes(bytes, seed);
    const s = await initNormal(user, { name, size: data.length });
    await uploadAll(user, s, data);
    const { file } = await user.caller.upload.complete({ uploadId: s.uploadId });
    return { data, file };
  }

  describe(`chunked uploads (${driverLabel})`, () => {
    it("uploads chunks in parallel, out of order, and completes without reading the file back", async () => {
      const user = await createTestUser();
      const data = patternBytes(Math.floor(chunkSize * 3.5), 101);
      const s = await initNormal(user, { name: "movie.mkv", size: data.length, sha256: sha256hex(data) });
      expect(s).toMatchObject({ chunkSize, chunkCount: 4, received: [] });
      expect(s.expiresAt.getTime()).toBeGreaterThan(Date.now() + 23 * 3_600_000);
      expect(await quotaOf(user.actor.userId)).toMatchObject({ reserved: data.length, used: 0 });

      const replies = await Promise.all(
        [3, 1, 2, 0].map((i) => sendChunk(http.baseUrl, user.authHeaders, s.uploadId, i, chunkOf(data, chunkSize, i))),
      );
      for (const r of replies) expect(r.status).toBe(200);
      expect(replies.map((r) => r.json.index).sort()).toEqual([0, 1, 2, 3]);
      expect(Math.max(...replies.map((r) => r.json.received))).toBe(4);

      const status = await user.caller.upload.status({ uploadId: s.uploadId });
      expect(status).toMatchObject({ received: [0, 1, 2, 3], chunkCount: 4 });
      // The whole-content digest was built while the chunks streamed in (spooled ones caught up).
      await expect
        .poll(async () => (await db.$primary().uploadSession.findUniqueOrThrow({ where: { id: s.uploadId } })).contentSha256)
        .toBe(sha256hex(data));

      const { file } = await user.caller.upload.complete({ uploadId: s.uploadId });
      expect(file).toMatchObject({ name: "movie.mkv", kind: "file", size: data.length, sha256: sha256hex(data), mime: "video/x-matroska" });
      const [entry] = await visibleFiles(user.actor.userId);
      expect(sha256hex(await readBlob(entry!.blob!.storageKey))).toBe(sha256hex(data));
      expect(await quotaOf(user.actor.userId)).toMatchObject({ reserved: 0, used: data.length });
      const session = await db.$primary().uploadSession.findUniqueOrThrow({ where: { id: s.uploadId } });
      expect(session.state).toBe("completed");
      // No byte was copied: the blob lives at the key the chunks were written to.
      expect(entry!.blob!.storageKey).toBe(session.stagingKey);
    });

    it("complete hashes the assembled object when this process did not see every chunk", async () => {
      const user = await createTestUser();
      const data = patternBytes(Math.floor(chunkSize * 2.25), 102);
      const s = await initNormal(user, { name: "a.bin", size: data.length, sha256: sha256hex(data) });
      await uploadAll(user, s, data, [2, 0, 1]);
      // As if the chunks had gone to another instance (or this one restarted): no live digest.
      await db.uploadSession.update({ where: { id: s.uploadId }, data: { contentSha256: null } });
      dropLiveHash(s.uploadId);
      const { file } = await user.caller.upload.complete({ uploadId: s.uploadId });
      expect(file.sha256).toBe(sha256hex(data));
    });

    it("init with the same name, size, sha256 and parent resumes the open session", async () => {
      const user = await createTestUser();
      const data = patternBytes(Math.floor(chunkSize * 2.5), 103);
      const first = await initNormal(user, { name: "r.iso", size: data.length, sha256: sha256hex(data) });
      await sendChunk(http.baseUrl, user.authHeaders, first.uploadId, 1, chunkOf(data, chunkSize, 1));
      const again = await initNormal(user, { name: "r.iso", size: data.length, sha256: sha256hex(data) });
      expect(again.uploadId).toBe(first.uploadId);
      expect(again.received).toEqual([1]);
      // Only one reservation.
      expect((await quotaOf(user.actor.userId)).reserved).toBe(data.length);
      const other = await initNormal(user, { name: "r2.iso", size: data.length });
      expect(other.uploadId).not.toBe(first.uploadId);
      const pending = await user.caller.upload.pending();
      expect(pending.map((p) => p.uploadId).sort()).toEqual([first.uploadId, other.uploadId].sort());
      expect(pending.find((p) => p.uploadId === first.uploadId)).toMatchObject({ receivedCount: 1, chunkCount: 3, name: "r.iso" });
    });

    it("re-sending a received chunk is harmless, even with other bytes", async () => {
      const user = await createTestUser();
      const data = patternBytes(Math.floor(chunkSize * 1.5), 104);
      const s = await initNormal(user, { name: "b.bin", size: data.length });
      const first = await sendChunk(http.baseUrl, user.authHeaders, s.uploadId, 0, chunkOf(data, chunkSize, 0));
      const again = await sendChunk(http.baseUrl, user.authHeaders, s.uploadId, 0, chunkOf(data, chunkSize, 0));
      const evil = await sendChunk(http.baseUrl, user.authHeaders, s.uploadId, 0, patternBytes(chunkSize, 999));
      expect(first).toMatchObject({ status: 200, json: { index: 0, received: 1 } });
      expect(again).toMatchObject({ status: 200, json: { index: 0, received: 1 } });
      expect(evil).toMatchObject({ status: 200, json: { index: 0, received: 1 } });
      await sendChunk(http.baseUrl, user.authHeaders, s.uploadId, 1, chunkOf(data, chunkSize, 1));
      await completeIntact(user, s, data);
    });

    it("checks each chunk's length, Content-Digest and body form", async () => {
      const user = await createTestUser();
      const data = patternBytes(Math.floor(chunkSize * 1.5), 105);
      const s = await initNormal(user, { name: "c.bin", size: data.length });
      const c0 = chunkOf(data, chunkSize, 0);
      const c1 = chunkOf(data, chunkSize, 1);

      expect((await sendChunk(http.baseUrl, user.authHeaders, s.uploadId, 0, c0.subarray(1))).status).toBe(400);
      expect((await sendChunk(http.baseUrl, user.authHeaders, s.uploadId, 1, c0)).status).toBe(400);
      const bad = await sendChunk(http.baseUrl, user.authHeaders, s.uploadId, 0, c0, { "content-digest": contentDigest(c1) });
      expect(bad.status).toBe(422);
      expect(bad.json.error.code).toBe("UNPROCESSABLE_CONTENT");
      expect((await sendChunk(http.baseUrl, user.authHeaders, s.uploadId, 0, c0, { "content-digest": "sha-256=:nope:" })).status).toBe(400);
      expect((await user.caller.upload.status({ uploadId: s.uploadId })).received).toEqual([]);

      const good = await sendChunk(http.baseUrl, user.authHeaders, s.uploadId, 0, c0, { "content-digest": contentDigest(c0) });
      expect(good).toMatchObject({ status: 200, json: { index: 0, received: 1 } });
      expect((await sendChunkMultipart(http.baseUrl, user.authHeaders, s.uploadId, 1, c1, "file")).status).toBe(400);
      const viaForm = await sendChunkMultipart(http.baseUrl, user.authHeaders, s.uploadId, 1, c1);
      expect(viaForm).toMatchObject({ status: 200, json: { index: 1, received: 2 } });
      // A chunk's own SHA-256 is kept when it was checked against a Content-Digest, only then.
      const rows = await db.$primary().uploadChunk.findMany({ where: { sessionId: s.uploadId }, orderBy: { index: "asc" } });
      expect(rows.map((r) => r.sha256)).toEqual([sha256hex(c0), null]);
      const { file } = await user.caller.upload.complete({ uploadId: s.uploadId });
      expect(file.sha256).toBe(sha256hex(data));
    });

    it("a body longer than declared is cut off with 400 and nothing is kept", async () => {
      const user = await createTestUser();
      const data = patternBytes(chunkSize * 2, 106);
      const s = await initNormal(user, { name: "d.bin", size: data.length });
      // No content-length (chunked transfer encoding), so only the byte count can tell.
      const r = await rawRequest(http.baseUrl, {
        method: "PUT",
        path: `/api/uploads/${s.uploadId}/chunks/0`,
        headers: { ...user.authHeaders, "content-type": "application/octet-stream", "transfer-encoding": "chunked" },
        body: Buffer.concat([chunkOf(data, chunkSize, 0), patternBytes(100_000, 7)]),
      });
      expect(r.status).toBe(400);
      expect((await user.caller.upload.status({ uploadId: s.uploadId })).received).toEqual([]);
      await uploadAll(user, s, data);
      await completeIntact(user, s, data);
    });

    it("a chunk interrupted by the client leaves nothing and can be sent again", async () => {
      const user = await createTestUser();
      const data = patternBytes(chunkSize * 2, 107);
      const s = await initNormal(user, { name: "e.bin", size: data.length });
      const c0 = chunkOf(data, chunkSize, 0);
      const r = await rawRequest(http.baseUrl, {
        method: "PUT",
        path: `/api/uploads/${s.uploadId}/chunks/0`,
        headers: { ...user.authHeaders, "content-type": "application/octet-stream", "content-length": String(c0.length) },
        body: c0,
        destroyAfter: Math.floor(c0.length / 3),
      });
      expect(r.status).toBe(0);
      // The server releases its claim once the storage write has stopped.
      await http.idle();
      expect(await db.$primary().uploadChunkClaim.count({ where: { sessionId: s.uploadId } })).toBe(0);
      expect((await user.caller.upload.status({ uploadId: s.uploadId })).received).toEqual([]);
      await uploadAll(user, s, data);
      await completeIntact(user, s, data);
    });

    it("a crash between the part write and its bookkeeping: the resend wins and the file is intact", async () => {
      const user = await createTestUser();
      const data = patternBytes(chunkSize * 2, 108);
      const s = await initNormal(user, { name: "f.bin", size: data.length });
      const session = await db.$primary().uploadSession.findUniqueOrThrow({ where: { id: s.uploadId } });
      // The "crashed" writer stored other bytes as part 1 and never recorded the chunk; it also
      // left a claim whose heartbeat stopped long ago.
      const junk = patternBytes(chunkSize, 4242);
      await getStorage().multipart.uploadPart(session.stagingKey, session.multipartId!, 1, Readable.from([junk]), junk.length);
      await db.uploadChunkClaim.create({ data: { sessionId: s.uploadId, index: 0, token: "dead", heartbeatAt: new Date(Date.now() - 120_000) } });
      await uploadAll(user, s, data);
      await completeIntact(user, s, data);
    });

    it("a chunk another request is writing right now is CONFLICT with retryAfter", async () => {
      const user = await createTestUser();
      const data = patternBytes(chunkSize, 109);
      const s = await initNormal(user, { name: "g.bin", size: data.length });
      await db.uploadChunkClaim.create({ data: { sessionId: s.uploadId, index: 0, token: "busy", heartbeatAt: new Date() } });
      const r = await sendChunk(http.baseUrl, user.authHeaders, s.uploadId, 0, data);
      expect(r.status).toBe(409);
      expect(Number(r.headers.get("retry-after"))).toBeGreaterThan(0);
    });

    it("a chunk pushes the session's expiry out to a full TTL again once the last push is a minute old", async () => {
      const user = await createTestUser();
      const data = patternBytes(chunkSize * 3, 111);
      const s = await initNormal(user, { name: "ttl.bin", size: data.length });
      const soon = new Date(Date.now() + 3_600_000);
      await db.uploadSession.update({ where: { id: s.uploadId }, data: { expiresAt: soon } });
      await uploadAll(user, s, data, [0]);
      const pushed = (await db.$primary().uploadSession.findUniqueOrThrow({ where: { id: s.uploadId } })).expiresAt;
      expect(pushed.getTime()).toBeGreaterThan(Date.now() + 23 * 3_600_000);
      // Within the minute the next chunk does not write the session row again.
      await uploadAll(user, s, data, [1]);
      expect((await db.$primary().uploadSession.findUniqueOrThrow({ where: { id: s.uploadId } })).expiresAt).toEqual(pushed);
      // A session past its expiry takes no chunk (the sweeper may be ending it right now).
      await db.uploadSession.update({ where: { id: s.uploadId }, data: { expiresAt: new Date(Date.now() - 1000) } });
      expect((await sendChunk(http.baseUrl, user.authHeaders, s.uploadId, 2, chunkOf(data, chunkSize, 2))).status).toBe(404);
    });

    it("the sweeper removes claims whose writer died long ago and keeps live ones", async () => {
      const user = await createTestUser();
      const s = await initNormal(user, { name: "claims.bin", size: chunkSize * 3 });
      await db.uploadChunkClaim.create({ data: { sessionId: s.uploadId, index: 0, token: "gone", heartbeatAt: new Date(Date.now() - 3_600_000) } });
      await db.uploadChunkClaim.create({ data: { sessionId: s.uploadId, index: 1, token: "live", heartbeatAt: new Date() } });
      await sweepExpiredUploads();
      const left = await db.$primary().uploadChunkClaim.findMany({ where: { sessionId: s.uploadId }, select: { token: true } });
      expect(left).toEqual([{ token: "live" }]);
      await user.caller.upload.abort({ uploadId: s.uploadId });
      expect(await db.$primary().uploadChunkClaim.count({ where: { sessionId: s.uploadId } })).toBe(0);
    });

    it("refuses hostile chunk indices", async () => {
      const user = await createTestUser();
      const data = patternBytes(chunkSize + 10, 110);
      const s = await initNormal(user, { name: "h.bin", size: data.length });
      for (const index of ["-1", "1.5", "abc", "01", "99999999999", "2", "1e3"]) {
        const r = await sendChunk(http.baseUrl, user.authHeaders, s.uploadId, index, data.subarray(0, 10));
        expect(r.status, index).toBe(400);
      }
      expect((await user.caller.upload.status({ uploadId: s.uploadId })).received).toEqual([]);
    });

    it("someone else's upload is 404 everywhere", async () => {
      const owner = await createTestUser();
      const intruder = await createTestUser();
      const data = patternBytes(chunkSize, 111);
      const s = await initNormal(owner, { name: "i.bin", size: data.length });
      const r = await sendChunk(http.baseUrl, intruder.authHeaders, s.uploadId, 0, data);
      expect(r.status).toBe(404);
      expect(r.json.error.code).toBe("NOT_FOUND");
      expect((await sendChunk(http.baseUrl, {}, s.uploadId, 0, data)).status).toBe(401);
      for (const call of [
        () => intruder.caller.upload.status({ uploadId: s.uploadId }),
        () => intruder.caller.upload.complete({ uploadId: s.uploadId }),
        () => intruder.caller.upload.abort({ uploadId: s.uploadId }),
      ]) {
        expect((await trpcError(call())).code).toBe("NOT_FOUND");
      }
      expect((await trpcError(intruder.caller.upload.prove({ uploadId: s.uploadId, challengeId: "x", proof: "0".repeat(64) }))).code).toBe(
        "NOT_FOUND",
      );
      expect((await owner.caller.upload.status({ uploadId: s.uploadId })).received).toEqual([]);
    });

    it("complete reports missing chunks; a wrong sha256 lets nothing into the drive", async () => {
      const user = await createTestUser();
      const data = patternBytes(Math.floor(chunkSize * 2.5), 112);
      const s = await initNormal(user, { name: "j.bin", size: data.length, sha256: sha256hex(patternBytes(data.length, 1)) });
      await sendChunk(http.baseUrl, user.authHeaders, s.uploadId, 1, chunkOf(data, chunkSize, 1));
      const missing = await trpcError(user.caller.upload.complete({ uploadId: s.uploadId }));
      expect(missing.code).toBe("PRECONDITION_FAILED");
      expect(missing.data.details).toMatchObject({ missing: [0, 2], missingCount: 2 });

      await uploadAll(user, s, data, [0, 2]);
      const wrong = await trpcError(user.caller.upload.complete({ uploadId: s.uploadId }));
      expect(wrong.code).toBe("BAD_REQUEST");
      expect(await visibleFiles(user.actor.userId)).toHaveLength(0);
      expect(await quotaOf(user.actor.userId)).toMatchObject({ used: 0, reserved: 0 });
      const session = await db.$primary().uploadSession.findUniqueOrThrow({ where: { id: s.uploadId } });
      expect(session.state).toBe("aborted");
      await runQueuedJobs(); // the worker deletes an ended session's bytes (storage.discard.v1)
      expect(await getStorage().head(session.stagingKey)).toBeNull();
      expect(await db.$primary().blob.count({ where: { sha256: sha256hex(data) } })).toBe(0);
    });

    it("concurrent completes of one session make exactly one file", async () => {
      const user = await createTestUser();
      const data = patternBytes(chunkSize * 2, 113);
      const s = await initNormal(user, { name: "k.bin", size: data.length });
      await uploadAll(user, s, data);
      const results = await Promise.allSettled(Array.from({ length: 5 }, () => user.caller.upload.complete({ uploadId: s.uploadId })));
      const ok = results.filter((r) => r.status === "fulfilled");
      expect(ok.length).toBeGreaterThanOrEqual(1);
      for (const r of results) {
        if (r.status === "rejected") expect((r.reason as { code: string }).code).toBe("CONFLICT");
      }
      const ids = new Set(ok.map((r) => (r as PromiseFulfilledResult<{ file: { id: string } }>).value.file.id));
      expect(ids.size).toBe(1);
      expect(await visibleFiles(user.actor.userId)).toHaveLength(1);
      expect((await quotaOf(user.actor.userId)).used).toBe(data.length);
      // A retried complete returns the same file.
      const again = await user.caller.upload.complete({ uploadId: s.uploadId });
      expect(again.file.id).toBe([...ids][0]);
    });

    it("abort and expiry delete the bytes and release the quota", async () => {
      const user = await createTestUser();
      const data = patternBytes(chunkSize * 2, 114);
      const a = await initNormal(user, { name: "l.bin", size: data.length });
      const b = await initNormal(user, { name: "m.bin", size: data.length });
      await uploadAll(user, a, data, [0]);
      await uploadAll(user, b, data, [1]);
      expect((await quotaOf(user.actor.userId)).reserved).toBe(2 * data.length);

      await user.caller.upload.abort({ uploadId: a.uploadId });
      expect((await quotaOf(user.actor.userId)).reserved).toBe(data.length);
      expect((await trpcError(user.caller.upload.status({ uploadId: a.uploadId }))).code).toBe("NOT_FOUND");
      expect((await sendChunk(http.baseUrl, user.authHeaders, a.uploadId, 1, chunkOf(data, chunkSize, 1))).status).toBe(404);
      const sa = await db.$primary().uploadSession.findUniqueOrThrow({ where: { id: a.uploadId } });
      await runQueuedJobs();
      expect(await getStorage().multipart.listParts(sa.stagingKey, sa.multipartId!)).toBeNull();

      const sb = await db.$primary().uploadSession.findUniqueOrThrow({ where: { id: b.uploadId } });
      await sweepExpiredUploads();
      expect((await db.$primary().uploadSession.findUniqueOrThrow({ where: { id: b.uploadId } })).state).toBe("open");
      // Time passes for this session only (a sweep with a clock moved forward would also expire
      // the sessions of test files running at the same time).
      await db.uploadSession.update({ where: { id: b.uploadId }, data: { expiresAt: new Date(Date.now() - 1000) } });
      const swept = await sweepExpiredUploads();
      expect(swept).toBeGreaterThanOrEqual(1);
      expect((await db.$primary().uploadSession.findUniqueOrThrow({ where: { id: b.uploadId } })).state).toBe("expired");
      expect(await quotaOf(user.actor.userId)).toMatchObject({ reserved: 0, used: 0 });
      await runQueuedJobs();
      expect(await getStorage().multipart.listParts(sb.stagingKey, sb.multipartId!)).toBeNull();
      expect((await trpcError(user.caller.upload.complete({ uploadId: b.uploadId }))).code).toBe("NOT_FOUND");
      expect(await user.caller.upload.pending()).toEqual([]);
    });

    it("quota is reserved at init: over it is PAYLOAD_TOO_LARGE", async () => {
      const user = await createTestUser({ quotaBytes: chunkSize * 3 });
      await initNormal(user, { name: "n1.bin", size: chunkSize * 2 });
      const over = await trpcError(init(user, { name: "n2.bin", size: chunkSize * 2 }));
      expect(over.code).toBe("PAYLOAD_TOO_LARGE");
      expect((await quotaOf(user.actor.userId)).reserved).toBe(chunkSize * 2);
    });

    it("validates init: names, sizes, chunk sizes, parents", async () => {
      const user = await createTestUser();
      const other = await createTestUser();
      for (const name of ["a/b", "..", ".", "x\u0000y", "y".repeat(256), ""]) {
        expect((await trpcError(init(user, { name, size: 10 }))).code, JSON.stringify(name)).toBe("BAD_REQUEST");
      }
      expect((await trpcError(init(user, { name: "ok", size: -1 }))).code).toBe("BAD_REQUEST");
      expect((await trpcError(init(user, { name: "ok", size: 1.5 }))).code).toBe("BAD_REQUEST");
      expect((await trpcError(init(user, { name: "ok", size: 10, chunkSize: 1000 }))).code).toBe("BAD_REQUEST");
      expect((await trpcError(init(user, { name: "ok", size: 10, chunkSize: 65 * 1024 * 1024 }))).code).toBe("BAD_REQUEST");
      expect((await trpcError(init(user, { name: "ok", size: 10, sha256: "abc" }))).code).toBe("BAD_REQUEST");
      const folder = await db.entry.create({
        data: { ownerId: other.actor.userId, parentKey: "", kind: "folder", name: "theirs", activeName: "theirs" },
      });
      expect((await trpcError(init(user, { name: "ok", size: 10, parentId: folder.id }))).code).toBe("NOT_FOUND");
      expect((await quotaOf(user.actor.userId)).reserved).toBe(0);
    });

    it("an empty file completes without any chunk", async () => {
      const user = await createTestUser();
      const s = await initNormal(user, { name: "empty.txt", size: 0 });
      expect(s.chunkCount).toBe(0);
      const { file } = await user.caller.upload.complete({ uploadId: s.uploadId });
      expect(file).toMatchObject({ size: 0, sha256: sha256hex(Buffer.alloc(0)) });
    });

    it("a duplicate of stored content keeps one copy and gets a suffixed name on clash", async () => {
      const user = await createTestUser();
      const { data, file: first } = await uploadFile(user, "dup.bin", chunkSize + 5, 115);
      const s = await initNormal(user, { name: "dup.bin", size: data.length });
      await uploadAll(user, s, data);
      const { file: second } = await user.caller.upload.complete({ uploadId: s.uploadId });
      expect(second.name).toBe("dup (1).bin");
      expect(second.sha256).toBe(first.sha256);
      const blob = await db.$primary().blob.findUniqueOrThrow({ where: { sha256: sha256hex(data) } });
      expect(blob.refCount).toBe(2);
      const session = await db.$primary().uploadSession.findUniqueOrThrow({ where: { id: s.uploadId } });
      expect(await getStorage().head(session.stagingKey)).toBeNull();
    });
  });

  describe(`秒传 with proof of possession (${driverLabel})`, () => {
    it("a right proof links the stored content without uploading a byte", async () => {
      const alice = await createTestUser();
      const bob = await createTestUser();
      const { data } = await uploadFile(alice, "shared.bin", chunkSize * 2 + 777, 201);
      const r = await init(bob, { name: "mine.bin", size: data.length, sha256: sha256hex(data) });
      if (!("instant" in r)) throw new Error("expected a challenge");
      const { ranges, challengeId } = r.instant;
      expect(ranges.length).toBeGreaterThanOrEqual(8);
      expect(ranges.length).toBeLessThanOrEqual(16);
      for (const g of ranges) {
        expect(g.length).toBeGreaterThanOrEqual(4096);
        expect(g.length).toBeLessThanOrEqual(65536);
        expect(g.offset + g.length).toBeLessThanOrEqual(data.length);
      }
      expect((await quotaOf(bob.actor.userId)).reserved).toBe(data.length);
      const { file } = await bob.caller.upload.prove({ uploadId: r.uploadId, challengeId, proof: proofFor(data, ranges) });
      expect(file).toMatchObject({ name: "mine.bin", size: data.length, sha256: sha256hex(data) });
      expect(await quotaOf(bob.actor.userId)).toMatchObject({ used: data.length, reserved: 0 });
      const blob = await db.$primary().blob.findUniqueOrThrow({ where: { sha256: sha256hex(data) } });
      expect(blob.refCount).toBe(2);
      const session = await db.$primary().uploadSession.findUniqueOrThrow({ where: { id: r.uploadId } });
      expect(session.multipartId).toBeNull();
      expect(await db.$primary().uploadChunk.count({ where: { sessionId: r.uploadId } })).toBe(0);
    });

    it("knowing the hash is not enough: a wrong proof is FORBIDDEN, burns the challenge and falls back to chunks", async () => {
      const alice = await createTestUser();
      const mallory = await createTestUser();
      const { data } = await uploadFile(alice, "secret.bin", chunkSize + 12_345, 202);
      const r = await init(mallory, { name: "loot.bin", size: data.length, sha256: sha256hex(data) });
      if (!("instant" in r)) throw new Error("expected a challenge");
      const guess = await trpcError(mallory.caller.upload.prove({ uploadId: r.uploadId, challengeId: r.instant.challengeId, proof: sha256hex(data) }));
      expect(guess.code).toBe("FORBIDDEN");
      // Burned: even the right answer no longer works for this challenge.
      const late = await trpcError(
        mallory.caller.upload.prove({ uploadId: r.uploadId, challengeId: r.instant.challengeId, proof: proofFor(data, r.instant.ranges) }),
      );
      expect(late.code).toBe("FORBIDDEN");
      expect(await visibleFiles(mallory.actor.userId)).toHaveLength(0);
      // The session is now an ordinary chunked upload.
      const status = await mallory.caller.upload.status({ uploadId: r.uploadId });
      expect(status).toMatchObject({ chunkCount: Math.ceil(data.length / chunkSize), received: [] });
      const resumed = await init(mallory, { name: "loot.bin", size: data.length, sha256: sha256hex(data) });
      expect("instant" in resumed).toBe(false);
      expect(resumed.uploadId).toBe(r.uploadId);
      const s = resumed as InitReply;
      await uploadAll(mallory, s, data);
      const { file } = await mallory.caller.upload.complete({ uploadId: s.uploadId });
      expect(file.sha256).toBe(sha256hex(data));
      expect((await db.$primary().blob.findUniqueOrThrow({ where: { sha256: sha256hex(data) } })).refCount).toBe(2);
    });

    it("each challenge is fresh, tiny files are asked for more than their hash, sizes must match", async () => {
      const alice = await createTestUser();
      const bob = await createTestUser();
      const tiny = patternBytes(1000, 203);
      expect((await postFilesTiny(alice, tiny)).status).toBe(201);
      const a = (await init(bob, { name: "t1", size: tiny.length, sha256: sha256hex(tiny) })) as InstantReply;
      const b = (await init(bob, { name: "t2", size: tiny.length, sha256: sha256hex(tiny) })) as InstantReply;
      expect(a.instant.challengeId).not.toBe(b.instant.challengeId);
      for (const g of a.instant.ranges) expect(g).toEqual({ offset: 0, length: tiny.length });
      expect(proofFor(tiny, a.instant.ranges)).not.toBe(sha256hex(tiny));
      const { file } = await bob.caller.upload.prove({ uploadId: a.uploadId, challengeId: a.instant.challengeId, proof: proofFor(tiny, a.instant.ranges) });
      expect(file.sha256).toBe(sha256hex(tiny));
      // Same hash, another size: no instant path.
      const c = await init(bob, { name: "t3", size: tiny.length + 1, sha256: sha256hex(tiny) });
      expect("instant" in c).toBe(false);
    });

    async function postFilesTiny(user: TestUser, data: Buffer) {
      const { postFiles } = await import("./upload-client");
      return postFiles(http.baseUrl, user.authHeaders, [{ name: "tiny.bin", data }]);
    }

    it("an expired challenge is FORBIDDEN", async () => {
      const alice = await createTestUser();
      const bob = await createTestUser();
      const { data } = await uploadFile(alice, "old.bin", chunkSize + 1, 204);
      const r = (await init(bob, { name: "x", size: data.length, sha256: sha256hex(data) })) as InstantReply;
      await db.uploadSession.update({ where: { id: r.uploadId }, data: { challengeExpires: new Date(Date.now() - 1000) } });
      const e = await trpcError(bob.caller.upload.prove({ uploadId: r.uploadId, challengeId: r.instant.challengeId, proof: proofFor(data, r.instant.ranges) }));
      expect(e.code).toBe("FORBIDDEN");
    });

    it("hash probing and proof attempts are throttled per user", async () => {
      const user = await createTestUser();
      const saved = { ...throttles.hashProbe };
      throttles.hashProbe.limit = 3;
      try {
        for (let i = 0; i < 3; i++) await init(user, { name: `p${i}`, size: 10, sha256: sha256hex(patternBytes(10, 300 + i)) });
        const e = await trpcError(init(user, { name: "p9", size: 10, sha256: sha256hex(patternBytes(10, 399)) }));
        expect(e.code).toBe("TOO_MANY_REQUESTS");
        expect(e.data.details.retryAfter).toBeGreaterThan(0);
        // Without a hash nothing is probed.
        await init(user, { name: "plain", size: 10 });
      } finally {
        Object.assign(throttles.hashProbe, saved);
      }
      const savedProve = { ...throttles.prove };
      throttles.prove.limit = 2;
      try {
        const s = await initNormal(user, { name: "q", size: 10 });
        for (let i = 0; i < 2; i++) {
          expect((await trpcError(user.caller.upload.prove({ uploadId: s.uploadId, challengeId: "nope", proof: "0".repeat(64) }))).code).toBe("FORBIDDEN");
        }
        const e = await trpcError(user.caller.upload.prove({ uploadId: s.uploadId, challengeId: "nope", proof: "0".repeat(64) }));
        expect(e.code).toBe("TOO_MANY_REQUESTS");
      } finally {
        Object.assign(throttles.prove, savedProve);
      }
    });
  });
}
