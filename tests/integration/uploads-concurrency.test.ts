import { setTimeout as sleep } from "node:timers/promises";
import { runQueuedJobs } from "../helpers/jobs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { db } from "~/server/db/client";
import { transactionRetries } from "~/server/db/transaction";
import { getStorage } from "~/server/storage";
import { startHttpServer, type TestHttpServer } from "../helpers/http-server";
import { patternBytes, postFiles, sendChunk, sha256hex } from "../helpers/upload-client";
import { createTestUser, type TestUser } from "../helpers/users";

// Many uploads finishing at once: POST /api/files and upload.complete by several users, of new
// content that is partly identical across requests. Every request must succeed, and afterwards the
// books must balance: one blob per SHA-256, refCount = entries pointing at it, usedBytes = the
// owner's file sizes, reservedBytes = open sessions, no bytes left at a key nothing refers to.

let http: TestHttpServer;

beforeAll(async () => {
  await getStorage().check();
  http = await startHttpServer();
});
afterAll(async () => {
  await http.close();
});

type InitReply = { uploadId: string; chunkSize: number; chunkCount: number };

async function trpcCode(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "OK";
  } catch (e) {
    return (e as { code?: string }).code ?? String(e);
  }
}

/** The books of these users and of the blobs of these contents balance (see the top of the file). */
async function expectConsistent(users: TestUser[], shas: string[]) {
  const primary = db.$primary();
  const blobs = await primary.blob.findMany({ where: { sha256: { in: [...new Set(shas)] } } });
  expect(blobs.map((b) => b.sha256).sort()).toEqual([...new Set(shas)].sort());
  for (const blob of blobs) {
    const refs = await primary.entry.count({ where: { blobId: blob.id } });
    expect(blob.refCount, `refCount of ${blob.sha256}`).toBe(refs);
    expect(blob.state).toBe("ready");
    const head = await getStorage().head(blob.storageKey);
    expect(head?.size, `bytes of ${blob.sha256}`).toBe(Number(blob.size));
  }
  for (const user of users) {
    const u = await primary.user.findUniqueOrThrow({ where: { id: user.actor.userId } });
    const files = await primary.entry.findMany({ where: { ownerId: user.actor.userId, kind: "file" } });
    const sessions = await primary.uploadSession.findMany({ where: { ownerId: user.actor.userId } });
    expect(Number(u.usedBytes), `usedBytes of ${user.username}`).toBe(files.reduce((n, f) => n + Number(f.size), 0));
    const open = sessions.filter((s) => s.state === "open" || s.state === "completing");
    expect(Number(u.reservedBytes), `reservedBytes of ${user.username}`).toBe(open.reduce((n, s) => n + Number(s.reservedBytes), 0));
    // Bytes of a finished session survive only as a blob's bytes (once the worker ran the deletions queued).
    await runQueuedJobs({ kinds: ["storage.discard.v1"] });
    for (const s of sessions) {
      if (s.state === "open" || s.state === "completing") continue;
      const owner = await primary.blob.findFirst({ where: { storageKey: s.stagingKey } });
      if (!owner) expect(await getStorage().head(s.stagingKey), `orphaned bytes of session ${s.id} (${s.state})`).toBeNull();
    }
    // Every completed session's entry exists and points at a blob of its content.
    for (const s of sessions.filter((x) => x.state === "completed")) {
      const entry = await primary.entry.findUnique({ where: { id: s.resultEntryId! }, include: { blob: true } });
      expect(entry?.blob?.sha256).toBe(s.contentSha256);
    }
  }
}

async function initChunked(user: TestUser, name: string, data: Buffer, parentId: string | null = null): Promise<InitReply> {
  const r = (await user.caller.upload.init({ name, size: data.length, parentId })) as InitReply;
  expect(r.chunkCount).toBe(1);
  const put = await sendChunk(http.baseUrl, user.authHeaders, r.uploadId, 0, data);
  expect(put.status, JSON.stringify(put.json)).toBe(200);
  return r;
}

describe("concurrent uploads of new content", () => {
  it("16 POST /api/files by 3 users at once, identical and different content, all succeed", async () => {
    const users = await Promise.all([0, 1, 2].map(() => createTestUser()));
    const seed = Math.floor(Math.random() * 1e9);
    const shared = [patternBytes(40_000, seed), patternBytes(41_000, seed + 1)];
    const requests = [...Array(16).keys()].map((i) => {
      const files = [
        { name: `s${i % 2}.bin`, data: shared[i % 2]! },
        { name: `own-${i}.bin`, data: patternBytes(30_000 + i, seed + 100 + i) },
      ];
      // Some forms carry both shared contents, in opposite orders.
      if (i % 4 === 3) files.push({ name: `s${(i + 1) % 2}.bin`, data: shared[(i + 1) % 2]! });
      return { user: users[i % 3]!, files };
    });
    const retriesBefore = transactionRetries();
    const started = performance.now();
    const replies = await Promise.all(requests.map((r) => postFiles(http.baseUrl, r.user.authHeaders, r.files)));
    const ms = performance.now() - started;
    console.log(`[uploads-concurrency] 16 concurrent forms (${requests.reduce((n, r) => n + r.files.length, 0)} files) in ${ms.toFixed(0)} ms, ${transactionRetries() - retriesBefore} transaction retries`);
    expect(replies.map((r) => (r.status === 201 ? 201 : `${r.status} ${JSON.stringify(r.json)}`))).toEqual(replies.map(() => 201));
    const shas = requests.flatMap((r) => r.files.map((f) => sha256hex(f.data)));
    await expectConsistent(users, shas);
    const sharedBlob = await db.$primary().blob.findUniqueOrThrow({ where: { sha256: sha256hex(shared[0]!) } });
    expect(sharedBlob.refCount).toBe(requests.filter((r) => r.files.some((f) => f.data === shared[0])).length);
  });

  it("16 upload.complete calls by 4 users at once, identical and different content, all succeed", async () => {
    const users = await Promise.all([0, 1, 2, 3].map(() => createTestUser()));
    const seed = Math.floor(Math.random() * 1e9);
    const shared = patternBytes(50_000, seed);
    const sessions = await Promise.all(
      [...Array(16).keys()].map(async (i) => {
        const user = users[i % 4]!;
        const data = i % 3 === 0 ? shared : patternBytes(20_000 + i, seed + 1 + i);
        return { user, data, s: await initChunked(user, `f${i}.bin`, data) };
      }),
    );
    const retriesBefore = transactionRetries();
    const started = performance.now();
    const codes = await Promise.all(sessions.map(({ user, s }) => trpcCode(user.caller.upload.complete({ uploadId: s.uploadId }))));
    const ms = performance.now() - started;
    console.log(`[uploads-concurrency] 16 concurrent completes in ${ms.toFixed(0)} ms, ${transactionRetries() - retriesBefore} transaction retries`);
    expect(codes).toEqual(codes.map(() => "OK"));
    await expectConsistent(users, sessions.map((x) => sha256hex(x.data)));
  });

  it("the chunks of one session, all sent at once, are all recorded (no deadlock in the chunk bookkeeping)", async () => {
    const [user] = await Promise.all([createTestUser()]);
    const chunkSize = 1024 * 1024;
    const data = patternBytes(24 * chunkSize + 12_345, Math.floor(Math.random() * 1e9));
    const init = (await user!.caller.upload.init({ name: "many-chunks.bin", size: data.length, chunkSize, sha256: sha256hex(data) })) as InitReply;
    expect(init.chunkCount).toBe(25);
    const retriesBefore = transactionRetries();
    // Every chunk at once, in reverse order: the claims, parts and bookkeeping of 25 requests overlap.
    const puts = await Promise.all(
      [...Array(init.chunkCount).keys()].reverse().map((i) =>
        sendChunk(http.baseUrl, user!.authHeaders, init.uploadId, i, data.subarray(i * chunkSize, Math.min(data.length, (i + 1) * chunkSize))),
      ),
    );
    console.log(`[uploads-concurrency] 25 parallel chunks: ${transactionRetries() - retriesBefore} transaction retries`);
    expect(puts.filter((p) => p.status !== 200).map((p) => `${p.status} ${JSON.stringify(p.json)}`)).toEqual([]);
    const status = await user!.caller.upload.status({ uploadId: init.uploadId });
    expect(status.received).toEqual([...Array(25).keys()]);
    const done = await user!.caller.upload.complete({ uploadId: init.uploadId });
    expect(done.file.size).toBe(data.length);
    await expectConsistent([user!], [sha256hex(data)]);
  });

  it("an abort while chunks are being recorded ends the session at once: reservation released, bytes gone", async () => {
    for (let round = 0; round < 3; round++) {
      const user = await createTestUser();
      const chunkSize = 1024 * 1024;
      const data = patternBytes(16 * chunkSize, Math.floor(Math.random() * 1e9));
      const init = (await user.caller.upload.init({ name: `abort-${round}.bin`, size: data.length, chunkSize })) as InitReply;
      const puts = [...Array(init.chunkCount).keys()].map((i) =>
        sendChunk(http.baseUrl, user.authHeaders, init.uploadId, i, data.subarray(i * chunkSize, (i + 1) * chunkSize)),
      );
      await sleep(40 + round * 40);
      // The abort takes the session row while chunk bookkeeping holds and queues on it.
      expect(await trpcCode(user.caller.upload.abort({ uploadId: init.uploadId }))).toBe("OK");
      const statuses = (await Promise.all(puts)).map((p) => p.status);
      expect(statuses.every((s) => s === 200 || s === 404 || s === 409), statuses.join(",")).toBe(true);
      const session = await db.$primary().uploadSession.findUniqueOrThrow({ where: { id: init.uploadId } });
      expect(session.state).toBe("aborted");
      expect(await db.$primary().uploadChunk.count({ where: { sessionId: init.uploadId } })).toBe(0);
      await expectConsistent([user], []);
    }
  });

  it("forms and completes of the same new content interleave", async () => {
    const users = await Promise.all([0, 1].map(() => createTestUser()));
    const seed = Math.floor(Math.random() * 1e9);
    const contents = [0, 1, 2].map((k) => patternBytes(25_000 + k, seed + k));
    const chunked = await Promise.all(
      [...Array(6).keys()].map(async (i) => {
        const user = users[i % 2]!;
        return { user, s: await initChunked(user, `c${i}.bin`, contents[i % 3]!) };
      }),
    );
    const results = await Promise.all([
      ...chunked.map(({ user, s }) => trpcCode(user.caller.upload.complete({ uploadId: s.uploadId }))),
      ...[...Array(6).keys()].map(async (i) => {
        const r = await postFiles(http.baseUrl, users[i % 2]!.authHeaders, [
          { name: `p${i}.bin`, data: contents[(i + 1) % 3]! },
          { name: `q${i}.bin`, data: contents[(i + 2) % 3]! },
        ]);
        return r.status === 201 ? "OK" : `${r.status} ${JSON.stringify(r.json)}`;
      }),
    ]);
    expect(results).toEqual(results.map(() => "OK"));
    await expectConsistent(users, contents.map(sha256hex));
  });
});

/** Live entries of the owner whose parent folder is in the trash (must never exist). */
async function liveInTrashedFolders(ownerId: string) {
  return db.$primary().$queryRaw<Array<{ id: string }>>`
    SELECT c.id FROM Entry c JOIN Entry p ON p.id = c.parentId
    WHERE c.ownerId = ${ownerId} AND c.trashedAt IS NULL AND p.trashedAt IS NOT NULL`;
}

describe("uploads racing changes of their target folder", () => {
  it("complete racing a delete of the folder lands before it (and goes to the trash with it) or is NOT_FOUND", async () => {
    const user = await createTestUser();
    const seed = Math.floor(Math.random() * 1e9);
    const landed: string[] = [];
    const outcomes = { landed: 0, notFound: 0, mkdirLanded: 0, mkdirNotFound: 0 };
    const retriesBefore = transactionRetries();
    for (let round = 0; round < 6; round++) {
      const folder = await user.caller.file.mkdir({ name: `target-${round}` });
      const sub = await user.caller.file.mkdir({ name: "sub", parentId: folder.id });
      const files = [...Array(6).keys()].map((i) => patternBytes(10_000 + i, seed + round * 10 + i));
      const sessions = await Promise.all(files.map((data, i) => initChunked(user, `r${i}.bin`, data, i % 2 ? folder.id : sub.id)));
      const completes = sessions.map((s) => trpcCode(user.caller.upload.complete({ uploadId: s.uploadId })));
      const mkdir = user.caller.file.mkdir({ name: "late", parentId: sub.id }).then(
        (f) => f.id,
        (e: { code?: string }) => e.code ?? "?",
      );
      // The delete lands at a different point of the completes each round.
      await sleep(round * 15);
      expect(await user.caller.file.delete({ ids: [folder.id] })).toMatchObject({ trashed: expect.any(Number) });
      const codes = await Promise.all(completes);
      const madeDir = await mkdir;

      for (const [i, code] of codes.entries()) {
        expect(["OK", "NOT_FOUND"]).toContain(code);
        const session = await db.$primary().uploadSession.findUniqueOrThrow({ where: { id: sessions[i]!.uploadId } });
        if (code === "OK") {
          outcomes.landed++;
          landed.push(sha256hex(files[i]!));
          expect(session.state).toBe("completed");
          const entry = await db.$primary().entry.findUniqueOrThrow({ where: { id: session.resultEntryId! } });
          // It was in the folder before the delete, so the delete took it along.
          expect(entry.trashedAt).not.toBeNull();
          expect(entry.trashRootId).toBe(folder.id);
        } else {
          outcomes.notFound++;
          expect(session.state).toBe("aborted");
        }
      }
      if (madeDir === "NOT_FOUND") outcomes.mkdirNotFound++;
      else {
        outcomes.mkdirLanded++;
        expect((await db.$primary().entry.findUniqueOrThrow({ where: { id: madeDir } })).trashRootId).toBe(folder.id);
      }
      expect(await liveInTrashedFolders(user.actor.userId)).toEqual([]);
    }
    console.log(
      `[uploads-concurrency] complete vs delete: ${JSON.stringify(outcomes)}, ${transactionRetries() - retriesBefore} transaction retries`,
    );
    await expectConsistent([user], landed);
  });

  it("completes, mkdirs, moves and renames in one folder at once all succeed", async () => {
    const user = await createTestUser();
    const seed = Math.floor(Math.random() * 1e9);
    const target = await user.caller.file.mkdir({ name: "target" });
    const elsewhere = await user.caller.file.mkdir({ name: "elsewhere" });
    const movable = await Promise.all([0, 1, 2, 3].map((i) => user.caller.file.mkdir({ name: `m${i}`, parentId: elsewhere.id })));
    const files = [...Array(8).keys()].map((i) => patternBytes(12_000 + i, seed + i));
    const sessions = await Promise.all(files.map((data, i) => initChunked(user, `f${i}.bin`, data, target.id)));
    const retriesBefore = transactionRetries();
    const results = await Promise.all([
      ...sessions.map((s) => trpcCode(user.caller.upload.complete({ uploadId: s.uploadId }))),
      ...[0, 1, 2, 3].map((i) => trpcCode(user.caller.file.mkdir({ name: `d${i}`, parentId: target.id }))),
      ...movable.map((m) => trpcCode(user.caller.file.move({ ids: [m.id], parentId: target.id }))),
      trpcCode(user.caller.file.rename({ id: target.id, name: "target2" })),
      trpcCode(user.caller.file.move({ ids: [target.id], parentId: elsewhere.id })),
    ]);
    expect(results).toEqual(results.map(() => "OK"));
    console.log(`[uploads-concurrency] completes vs mkdir/move/rename: ${transactionRetries() - retriesBefore} transaction retries`);
    const listing = await user.caller.file.list({ parentId: target.id });
    expect(listing.items.map((e) => e.name).sort()).toEqual(
      [...[0, 1, 2, 3].map((i) => `d${i}`), ...files.map((_, i) => `f${i}.bin`), "m0", "m1", "m2", "m3"].sort(),
    );
    await expectConsistent([user], files.map(sha256hex));
  });
});
