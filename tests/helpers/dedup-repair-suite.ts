import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { db } from "~/server/db/client";
import { getStorage } from "~/server/storage";
import { startHttpServer, type TestHttpServer } from "./http-server";
import { patternBytes, postFiles, sendChunk, sha256hex } from "./upload-client";
import { createTestUser, deleteCreatedTestUsers, type TestUser } from "./users";
import { projectRoot } from "./processes";

// Issue 17: a drive whose storage lost an object its database still lists (a wiped disk, a lost
// bucket, a tier restored from an older backup). Uploading that content again must not be linked to
// the lost bytes and thrown away: the new bytes become the blob's, and every file pointing at it is
// whole again. 秒传 of lost content falls back to a real upload, never a 500; the operator's scan
// lists (and marks) the loss. Run on local disk and on Ceph RGW (dedup-repair*.test.ts).

export function defineDedupRepairSuite(label: string, env: Record<string, string>) {
  describe(`lost blob objects are repaired by the next upload (${label})`, () => {
    let http: TestHttpServer;
    beforeAll(async () => {
      http = await startHttpServer();
      http.server.keepAliveTimeout = 120_000;
    });
    afterAll(async () => {
      await deleteCreatedTestUsers();
      await http?.close();
    });

    async function form(user: TestUser, name: string, data: Buffer): Promise<string> {
      const res = await postFiles(http.baseUrl, user.authHeaders, [{ name, data }]);
      expect(res.status, JSON.stringify(res.json)).toBe(201);
      return res.json.files[0].id;
    }

    async function chunked(user: TestUser, name: string, data: Buffer, sha256?: string): Promise<string> {
      const init = await user.caller.upload.init({ name, size: data.length, sha256 });
      if (!("chunkCount" in init)) throw new Error("expected a normal upload session, got a 秒传 challenge");
      for (let i = 0; i < init.chunkCount; i++) {
        const r = await sendChunk(http.baseUrl, user.authHeaders, init.uploadId, i, data.subarray(i * init.chunkSize, (i + 1) * init.chunkSize));
        expect(r.status).toBe(200);
      }
      return (await user.caller.upload.complete({ uploadId: init.uploadId })).file.id;
    }

    async function tus(user: TestUser, name: string, data: Buffer): Promise<string> {
      const res = await fetch(`${http.baseUrl}/api/tus`, {
        method: "POST",
        headers: {
          ...user.authHeaders,
          "tus-resumable": "1.0.0",
          "upload-length": String(data.length),
          "upload-metadata": `filename ${Buffer.from(name).toString("base64")}`,
          "content-type": "application/offset+octet-stream",
        },
        body: new Uint8Array(data),
      });
      expect(res.status).toBe(201);
      return (await user.caller.file.list({})).items.find((i) => i.name === name)!.id;
    }

    async function content(user: TestUser, id: string): Promise<{ status: number; sha256: string }> {
      const res = await fetch(`${http.baseUrl}/api/files/${id}/content`, { headers: user.authHeaders });
      const body = Buffer.from(await res.arrayBuffer());
      return { status: res.status, sha256: sha256hex(body) };
    }

    const blobOf = async (entryId: string) => (await db.$primary().entry.findUniqueOrThrow({ where: { id: entryId }, include: { blob: true } })).blob!;

    /** Deletes the blob's object behind the drive's back (or replaces it with a shorter one). */
    async function lose(entryId: string, how: "delete" | "truncate" = "delete") {
      const blob = await blobOf(entryId);
      if (how === "delete") await getStorage().delete(blob.storageKey);
      else await getStorage().put(blob.storageKey, Readable.from([Buffer.from("short")]), { size: 5 });
      return blob;
    }

    for (const [kind, send] of [
      ["a form upload", form],
      ["a chunked upload", chunked],
      ["a tus upload", tus],
    ] as const) {
      it(`${kind} of content whose object is gone becomes its bytes: the old and the new file download intact`, async () => {
        const user = await createTestUser();
        const other = await createTestUser();
        const data = patternBytes(1_500_000, 4000 + kind.length);
        const oldId = await form(user, "old.bin", data);
        const copyId = (await other.caller.file.list({})).items.length === 0 ? await form(other, "theirs.bin", data) : "";
        const lost = await lose(oldId);
        expect((await content(user, oldId)).status).toBe(500); // what a loss looks like before the repair
        const newId = await send(user, "new.bin", data);
        const repaired = await blobOf(newId);
        expect(repaired.id).toBe(lost.id);
        expect(repaired.storageKey).not.toBe(lost.storageKey);
        expect(repaired.state).toBe("ready");
        expect(repaired.refCount).toBe(3);
        for (const [who, id] of [
          [user, oldId],
          [user, newId],
          [other, copyId],
        ] as const) {
          expect(await content(who, id)).toEqual({ status: 200, sha256: sha256hex(data) });
        }
      });
    }

    it("an object of the wrong size counts as lost too", async () => {
      const user = await createTestUser();
      const data = patternBytes(300_000, 4010);
      const oldId = await form(user, "a.bin", data);
      const lost = await lose(oldId, "truncate");
      const newId = await chunked(user, "b.bin", data);
      expect((await blobOf(newId)).storageKey).not.toBe(lost.storageKey);
      expect(await content(user, oldId)).toEqual({ status: 200, sha256: sha256hex(data) });
    });

    it("an intact object is kept: the new upload's copy is dropped (one copy per content)", async () => {
      const user = await createTestUser();
      const data = patternBytes(200_000, 4011);
      const oldId = await form(user, "a.bin", data);
      const before = await blobOf(oldId);
      const newId = await form(user, "b.bin", data);
      expect((await blobOf(newId)).storageKey).toBe(before.storageKey);
    });

    it("秒传 of lost content: no challenge is offered and the upload goes through for real; a challenge whose bytes vanish fails cleanly", async () => {
      const user = await createTestUser();
      const data = patternBytes(2_000_000, 4012);
      const oldId = await form(user, "a.bin", data);
      await lose(oldId);
      const newId = await chunked(user, "b.bin", data, sha256hex(data)); // throws if a challenge came back
      expect(await content(user, oldId)).toEqual({ status: 200, sha256: sha256hex(data) });
      expect(await content(user, newId)).toEqual({ status: 200, sha256: sha256hex(data) });

      // Lost between the challenge and the proof: FORBIDDEN with the chunked fallback, never a 500.
      const second = patternBytes(1_000_000, 4013);
      const firstId = await form(user, "c.bin", second);
      const init = await user.caller.upload.init({ name: "d.bin", size: second.length, sha256: sha256hex(second) });
      if (!("instant" in init)) throw new Error("expected a 秒传 challenge");
      await lose(firstId);
      const proof = createHash("sha256");
      for (const r of init.instant.ranges) proof.update(second.subarray(r.offset, r.offset + r.length));
      const error = await user.caller.upload
        .prove({ uploadId: init.uploadId, challengeId: init.instant.challengeId, proof: proof.digest("hex") })
        .then(() => null, (e: { code?: string; data?: unknown }) => e);
      expect(error).toMatchObject({ code: "FORBIDDEN" });
      const status = await user.caller.upload.status({ uploadId: init.uploadId });
      for (let i = 0; i < status.chunkCount; i++) {
        expect((await sendChunk(http.baseUrl, user.authHeaders, init.uploadId, i, second.subarray(i * status.chunkSize, (i + 1) * status.chunkSize))).status).toBe(200);
      }
      const { file } = await user.caller.upload.complete({ uploadId: init.uploadId });
      expect(await content(user, file.id)).toEqual({ status: 200, sha256: sha256hex(second) });
      expect(await content(user, firstId)).toEqual({ status: 200, sha256: sha256hex(second) });
    });

    it("npm run blobs -- scan lists the lost blob; --mark marks it missing; the next upload repairs it", async () => {
      const user = await createTestUser();
      const data = patternBytes(400_000, 4014);
      const id = await form(user, "scan.bin", data);
      const lost = await lose(id);
      const scan = (args: string[]) =>
        spawnSync(process.execPath, ["--import", "tsx", "scripts/blobs.ts", "scan", ...args], { cwd: projectRoot, env: { ...process.env, ...env }, encoding: "utf8", timeout: 120_000 });
      const listed = scan([]);
      expect(listed.status, listed.stderr).toBe(3);
      expect(listed.stdout).toMatch(new RegExp(`missing\\s+blob ${lost.id}\\s+sha256 ${lost.sha256}`));
      expect(listed.stdout).toMatch(/with a problem \(--mark marks them\)/);
      expect((await db.$primary().blob.findUniqueOrThrow({ where: { id: lost.id } })).state).toBe("ready");
      const marked = scan(["--mark", "--json"]);
      expect(marked.status).toBe(3);
      const report = JSON.parse(marked.stdout);
      expect(report.findings).toEqual(expect.arrayContaining([expect.objectContaining({ blobId: lost.id, problem: "missing" })]));
      expect(report.marked).toBeGreaterThanOrEqual(1);
      expect((await db.$primary().blob.findUniqueOrThrow({ where: { id: lost.id } })).state).toBe("missing");
      // A missing blob is never offered for 秒传; the upload of its content repairs it.
      const newId = await chunked(user, "again.bin", data, sha256hex(data));
      expect(await blobOf(newId)).toMatchObject({ id: lost.id, state: "ready" });
      expect(await content(user, id)).toEqual({ status: 200, sha256: sha256hex(data) });
      const clean = scan([]);
      expect(clean.stdout).not.toContain(lost.id);
    }, 300_000); // three runs of the command, each a process of its own
  });
}
