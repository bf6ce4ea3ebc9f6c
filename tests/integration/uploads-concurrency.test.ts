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
    // Bytes of a finished session survive only as a blob's bytes.
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
