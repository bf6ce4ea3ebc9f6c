import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { db } from "~/server/db/client";
import { blobStorage } from "~/server/services/blobs";
import { ownFileTarget } from "~/server/services/downloads/targets";
import { respondWithFile } from "~/server/http/respond-file";
import { transferSettings } from "~/server/services/transfers/config";
import { copyVerified } from "~/server/services/transfers/copy";
import { isStorageError, type StorageDriver } from "~/server/storage";
import { startHttpServer, type TestHttpServer } from "./http-server";
import { runQueuedJobs } from "./jobs";
import { patternBytes, postFiles, sendChunk, sha256hex } from "./upload-client";
import { createTestUser, deleteCreatedTestUsers, type TestUser } from "./users";

// The async transfer, in this process and without a broker (the jobs run through the worker's own
// claim → handler → done path): every kind of upload gets its blob.transfer.v1 job in its commit, the
// job moves the blob to TRANSFER_TARGET verified, readers follow it, the source goes after the grace
// period, and redelivered or outdated jobs leave nothing behind. Run against each pair of tiers
// (transfer-*.test.ts). The worker as a process, and its faults, are in transfer-faults.test.ts.

const MiB = 1024 * 1024;
const TRANSFER = "blob.transfer.v1";

async function read(stream: Readable | null): Promise<Buffer> {
  if (!stream) throw new Error("no object");
  const parts: Buffer[] = [];
  for await (const b of stream) parts.push(b as Buffer);
  return Buffer.concat(parts);
}

export function defineTransferSuite(label: string) {
  describe(`async transfer: ${label}`, () => {
    let http: TestHttpServer;
    const settings = transferSettings()!;

    beforeAll(async () => {
      http = await startHttpServer();
      // A loaded machine can leave more than the default 5 s between two requests of this suite, and
      // fetch reusing a keep-alive socket the server is closing right then fails with ECONNRESET.
      http.server.keepAliveTimeout = 120_000;
    });
    afterAll(async () => {
      await deleteCreatedTestUsers();
      await http?.close();
    });

    const target = (): StorageDriver => blobStorage(settings.target);
    const source = (): StorageDriver => blobStorage(settings.source);

    async function upload(user: TestUser, name: string, data: Buffer) {
      const res = await postFiles(http.baseUrl, user.authHeaders, [{ name, data }]);
      expect(res.status, JSON.stringify(res.json)).toBe(201);
      const entry = res.json.files[0];
      const row = await db.$primary().entry.findUniqueOrThrow({ where: { id: entry.id }, include: { blob: true } });
      return { entry, blob: row.blob! };
    }

    async function download(user: TestUser, id: string): Promise<Buffer> {
      const res = await fetch(`${http.baseUrl}/api/files/${id}/content`, { headers: user.authHeaders });
      const body = Buffer.from(await res.arrayBuffer());
      expect(res.status, body.toString().slice(0, 200)).toBe(200);
      return body;
    }

    const transferJobs = (blobId: string) => db.$primary().transferOutbox.findMany({ where: { kind: TRANSFER, subject: blobId } });

    it("a form upload gets its transfer job in its commit; the job moves it verified; the source goes after the grace period", async () => {
      const user = await createTestUser();
      const data = patternBytes(300_000, 1001);
      const { entry, blob } = await upload(user, "a.bin", data);
      expect(blob.driver).toBe(settings.source);
      const jobs = await transferJobs(blob.id);
      expect(jobs).toHaveLength(1);
      expect(jobs[0]!.payload).toEqual({ blobId: blob.id, storageKey: blob.storageKey });
      expect(sha256hex(await download(user, entry.id))).toBe(sha256hex(data));

      const ran = await runQueuedJobs({ kinds: [TRANSFER] });
      expect(ran.failed).toEqual([]);
      const moved = await db.$primary().blob.findUniqueOrThrow({ where: { id: blob.id } });
      expect(moved).toMatchObject({ driver: settings.target, storageKey: blob.storageKey, state: "ready", refCount: 1 });
      expect((await transferJobs(blob.id))[0]!.state).toBe("done");
      expect(sha256hex(await read(await target().get(blob.storageKey)))).toBe(sha256hex(data));
      // Downloads follow the blob; the source copy stays for the grace period (a download already
      // streaming from it finishes), its deletion queued for later.
      expect(sha256hex(await download(user, entry.id))).toBe(sha256hex(data));
      expect(await source().head(blob.storageKey)).not.toBeNull();
      const discard = await db.$primary().transferOutbox.findFirstOrThrow({ where: { kind: "storage.discard.v1", state: "pending", payload: { equals: { driver: settings.source, key: blob.storageKey, reason: "tier-move" } } } });
      expect(discard.availableAt.getTime()).toBeGreaterThan(Date.now() + settings.graceMs - 60_000);
      await runQueuedJobs({ kinds: ["storage.discard.v1"], includeDelayed: true });
      expect(await source().head(blob.storageKey)).toBeNull();
      expect(await target().head(blob.storageKey)).not.toBeNull();
      expect(sha256hex(await download(user, entry.id))).toBe(sha256hex(data));
      // Ranges come from the target too.
      const ranged = await fetch(`${http.baseUrl}/api/files/${entry.id}/content`, { headers: { ...user.authHeaders, range: "bytes=1000-1999" } });
      expect(ranged.status).toBe(206);
      expect(Buffer.from(await ranged.arrayBuffer()).equals(data.subarray(1000, 2000))).toBe(true);
    });

    it("a multi-part blob is copied in parts, each checked by the target's own MD5, and lands whole", async () => {
      const user = await createTestUser();
      const data = patternBytes(settings.partBytes * 2 + 12_345, 1002);
      const { entry, blob } = await upload(user, "big.bin", data);
      expect((await runQueuedJobs({ kinds: [TRANSFER] })).failed).toEqual([]);
      const head = await target().head(blob.storageKey);
      expect(head?.size).toBe(data.length);
      expect(head?.etag).toMatch(/-3$/);
      expect(sha256hex(await read(await target().get(blob.storageKey)))).toBe(sha256hex(data));
      expect(sha256hex(await download(user, entry.id))).toBe(sha256hex(data));
    });

    it("chunked and tus uploads get their job too; 秒传 creates no blob and no job", async () => {
      const user = await createTestUser();
      const data = patternBytes(2 * MiB + 7, 1003);
      const init = await user.caller.upload.init({ name: "c.bin", size: data.length, chunkSize: MiB });
      if (!("chunkCount" in init)) throw new Error("expected a chunked session");
      const chunk = init.chunkSize; // object stores raise it to their minimum part size
      for (let i = 0; i < init.chunkCount; i++) {
        const r = await sendChunk(http.baseUrl, user.authHeaders, init.uploadId, i, data.subarray(i * chunk, (i + 1) * chunk));
        expect(r.status).toBe(200);
      }
      const { file } = await user.caller.upload.complete({ uploadId: init.uploadId });
      const chunkedBlob = (await db.$primary().entry.findUniqueOrThrow({ where: { id: file.id } })).blobId!;
      expect(await transferJobs(chunkedBlob)).toHaveLength(1);

      const tusData = patternBytes(150_000, 1004);
      const created = await fetch(`${http.baseUrl}/api/tus`, {
        method: "POST",
        headers: {
          ...user.authHeaders,
          "tus-resumable": "1.0.0",
          "upload-length": String(tusData.length),
          "upload-metadata": `filename ${Buffer.from("t.bin").toString("base64")}`,
          "content-type": "application/offset+octet-stream",
        },
        body: new Uint8Array(tusData),
      });
      expect(created.status).toBe(201);
      const tusEntry = (await user.caller.file.list({})).items.find((i) => i.name === "t.bin")!;
      const tusBlob = (await db.$primary().entry.findUniqueOrThrow({ where: { id: tusEntry.id } })).blobId!;
      expect(await transferJobs(tusBlob)).toHaveLength(1);

      // 秒传 of the chunked file's content by another user: a reference, no new blob, no new job.
      const other = await createTestUser();
      const instant = await other.caller.upload.init({ name: "again.bin", size: data.length, sha256: sha256hex(data) });
      if (!("instant" in instant)) throw new Error("expected a 秒传 challenge");
      const proof = createHash("sha256");
      for (const r of instant.instant.ranges) proof.update(data.subarray(r.offset, r.offset + r.length));
      const proved = await other.caller.upload.prove({ uploadId: instant.uploadId, challengeId: instant.instant.challengeId, proof: proof.digest("hex") });
      expect(proved.file.sha256).toBe(sha256hex(data));
      expect(await transferJobs(chunkedBlob)).toHaveLength(1);

      expect((await runQueuedJobs({ kinds: [TRANSFER] })).failed).toEqual([]);
      for (const id of [chunkedBlob, tusBlob]) expect((await db.$primary().blob.findUniqueOrThrow({ where: { id } })).driver).toBe(settings.target);
      expect(sha256hex(await download(other, proved.file.id))).toBe(sha256hex(data));
      // 秒传 of content that now lives on the target tier: the proof reads it there.
      const third = await createTestUser();
      const again = await third.caller.upload.init({ name: "x.bin", size: data.length, sha256: sha256hex(data) });
      if (!("instant" in again)) throw new Error("expected a 秒传 challenge");
      const proof2 = createHash("sha256");
      for (const r of again.instant.ranges) proof2.update(data.subarray(r.offset, r.offset + r.length));
      await third.caller.upload.prove({ uploadId: again.uploadId, challengeId: again.instant.challengeId, proof: proof2.digest("hex") });
    });

    it("a redelivered job of a moved blob does nothing; a job whose blob was purged leaves no object on either tier", async () => {
      const user = await createTestUser();
      const data = patternBytes(200_000, 1005);
      const { blob } = await upload(user, "r.bin", data);
      await runQueuedJobs({ kinds: [TRANSFER] });
      const job = (await transferJobs(blob.id))[0]!;
      const before = await target().head(blob.storageKey);
      await db.transferOutbox.update({ where: { id: job.id }, data: { state: "published" } }); // as if delivered again
      expect((await runQueuedJobs({ kinds: [TRANSFER] })).failed).toEqual([]);
      expect((await db.transferOutbox.findUniqueOrThrow({ where: { id: job.id } })).state).toBe("done");
      expect((await target().head(blob.storageKey))?.etag).toBe(before?.etag);

      // Purged (and collected) before its transfer ran.
      const gone = await upload(user, "gone.bin", patternBytes(150_000, 1006));
      await user.caller.file.delete({ ids: [gone.entry.id] });
      await user.caller.trash.purge({ ids: [gone.entry.id] });
      await runQueuedJobs({ kinds: ["blob.collect.v1"] });
      expect(await db.$primary().blob.findUnique({ where: { id: gone.blob.id } })).toBeNull();
      expect((await runQueuedJobs({ kinds: [TRANSFER] })).failed).toEqual([]);
      expect(await target().head(gone.blob.storageKey)).toBeNull();
      expect(await source().head(gone.blob.storageKey)).toBeNull();

      // Purged after the copy but before the switch: the collector marked it; the job writes, then finds it gone.
      const late = await upload(user, "late.bin", patternBytes(180_000, 1007));
      await db.blob.update({ where: { id: late.blob.id }, data: { refCount: 0, state: "deleting" } });
      expect((await runQueuedJobs({ kinds: [TRANSFER] })).failed).toEqual([]);
      expect(await target().head(late.blob.storageKey)).toBeNull();
      expect((await db.$primary().blob.findUniqueOrThrow({ where: { id: late.blob.id } })).driver).toBe(settings.source);
      await db.blob.update({ where: { id: late.blob.id }, data: { refCount: 1, state: "ready" } });
    });

    it("a part corrupted on its way is refused by the target (its MD5 differs); nothing is stored", async () => {
      const user = await createTestUser();
      const data = patternBytes(settings.partBytes + 5000, 1008);
      const { blob } = await upload(user, "corrupt.bin", data);
      const real = target();
      const flipping: StorageDriver = {
        ...real,
        multipart: {
          ...real.multipart,
          async uploadPart(key, uploadId, n, body, size, checks) {
            const bytes = await read(body);
            bytes[0] = bytes[0]! ^ 0xff; // one bit pattern changed in transit, the MD5 sent is the original's
            return real.multipart.uploadPart(key, uploadId, n, Readable.from([bytes]), size, checks);
          },
        },
      };
      const error = await copyVerified(source(), flipping, blob.storageKey, {
        size: data.length,
        sha256: blob.sha256,
        partBytes: settings.partBytes,
        concurrency: 2,
      }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(isStorageError(error, "BAD_DIGEST"), String(error)).toBe(true);
      expect(await real.head(blob.storageKey)).toBeNull();
      // The real job still moves it.
      expect((await runQueuedJobs({ kinds: [TRANSFER] })).failed).toEqual([]);
      expect(sha256hex(await read(await real.get(blob.storageKey)))).toBe(sha256hex(data));
    });

    it("source bytes that are not the blob's stop the transfer for good and mark the blob missing", async () => {
      const user = await createTestUser();
      const data = patternBytes(120_000, 1009);
      const { blob } = await upload(user, "damaged.bin", data);
      const damaged = Buffer.from(data);
      damaged[500] = damaged[500]! ^ 1;
      await source().put(blob.storageKey, Readable.from([damaged]), { size: damaged.length });
      const ran = await runQueuedJobs({ kinds: [TRANSFER] });
      expect(ran.failed).toHaveLength(1);
      expect(ran.failed[0]!.error).toMatch(/SHA-256/);
      expect(await db.$primary().blob.findUniqueOrThrow({ where: { id: blob.id } })).toMatchObject({ state: "missing", driver: settings.source });
      expect(await target().head(blob.storageKey)).toBeNull();
      // The same content uploaded again repairs it (issue 17), and that generation moves.
      const again = await upload(user, "damaged-again.bin", data);
      expect(again.blob.id).toBe(blob.id);
      expect(again.blob.storageKey).not.toBe(blob.storageKey);
      expect((await runQueuedJobs({ kinds: [TRANSFER] })).failed).toEqual([]);
      expect(sha256hex(await download(user, again.entry.id))).toBe(sha256hex(data));
    });

    it("a download that read the old location before the switch and the grace period still gets the bytes", async () => {
      const user = await createTestUser();
      const data = patternBytes(90_000, 1010);
      const { entry, blob } = await upload(user, "stale.bin", data);
      const stale = await ownFileTarget(user.actor.userId, entry.id);
      expect(stale.driver).toBe(settings.source);
      await runQueuedJobs({ kinds: [TRANSFER] });
      await runQueuedJobs({ kinds: ["storage.discard.v1"], includeDelayed: true });
      expect(await source().head(blob.storageKey)).toBeNull();
      const res = await respondWithFile({ method: "GET", headers: new Headers() }, stale, undefined, { mode: "proxy" });
      expect(res.status).toBe(200);
      expect(sha256hex(await read(res.body as Readable))).toBe(sha256hex(data));
    });
  });
}
