import { randomBytes } from "node:crypto";
import sharp from "sharp";
import { afterAll, describe, expect, it } from "vitest";
import { db } from "~/server/db/client";
import { collectBlobs } from "~/server/services/blobs";
import { createThumbnail, sweepThumbnails, thumbnailFor } from "~/server/services/previews/thumbnails";
import { cleanupDriveUsers, putFile } from "../helpers/drive-files";
import { createTestUser, type TestUser } from "../helpers/users";

// Thumbnails (services/previews/thumbnails.ts) on the real database and storage: asked for once per
// content however often it is requested, made with sharp, refused for unreadable images, owned
// (someone else's file is NOT_FOUND), and swept with their content.

const users: TestUser[] = [];
afterAll(async () => {
  await cleanupDriveUsers(users);
});

async function newUser(): Promise<TestUser> {
  const user = await createTestUser();
  users.push(user);
  return user;
}

async function streamBytes(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(Buffer.from(part as Buffer));
  return Buffer.concat(parts);
}

describe("thumbnails", () => {
  it("are asked for once per content, made by the job, then served", async () => {
    const user = await newUser();
    const jpeg = await sharp({ create: { width: 640, height: 1280, channels: 3, background: "#3366cc" } }).jpeg().toBuffer();
    const a = await putFile(user, { name: "tall.jpg", data: jpeg, mime: "image/jpeg" });
    const b = await putFile(user, { name: "tall copy.jpg", data: jpeg, mime: "image/jpeg" });
    const [first, second, third] = await Promise.all([thumbnailFor(user.actor.userId, a.id), thumbnailFor(user.actor.userId, b.id), thumbnailFor(user.actor.userId, a.id)]);
    expect([first.state, second.state, third.state]).toEqual(["pending", "pending", "pending"]);
    const jobs = await db.transferOutbox.findMany({ where: { kind: "thumbnail.create.v1" } });
    expect(jobs.filter((j) => (j.payload as { sha256: string }).sha256 === a.sha256)).toHaveLength(1);

    expect(await createThumbnail(a.sha256!)).toBe("made");
    expect(await createThumbnail(a.sha256!)).toBe("skipped"); // a redelivered job is harmless
    const ready = await thumbnailFor(user.actor.userId, b.id);
    if (ready.state !== "ready") throw new Error(`expected ready, got ${ready.state}`);
    const webp = await streamBytes(await ready.open());
    expect(webp.length).toBe(ready.bytes);
    const meta = await sharp(webp).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(["webp", 128, 256]);

    // Someone else cannot ask for it; a non-image has none.
    const other = await newUser();
    await expect(thumbnailFor(other.actor.userId, a.id)).rejects.toMatchObject({ code: "NOT_FOUND" });
    const text = await putFile(user, { name: "notes.txt", data: "hello", mime: "text/plain" });
    expect((await thumbnailFor(user.actor.userId, text.id)).state).toBe("none");
  });

  it("an unreadable image is marked failed for good; thumbnails leave with their content", async () => {
    const user = await newUser();
    const junk = await putFile(user, { name: "junk.png", data: randomBytes(4096), mime: "image/png" });
    expect((await thumbnailFor(user.actor.userId, junk.id)).state).toBe("pending");
    expect(await createThumbnail(junk.sha256!)).toBe("failed");
    expect((await thumbnailFor(user.actor.userId, junk.id)).state).toBe("none");

    const png = await sharp({ create: { width: 50, height: 50, channels: 4, background: "#ff000080" } }).png().toBuffer();
    const pic = await putFile(user, { name: "dot.png", data: png, mime: "image/png" });
    await thumbnailFor(user.actor.userId, pic.id);
    expect(await createThumbnail(pic.sha256!)).toBe("made");
    const row = await db.thumbnail.findUnique({ where: { sha256: pic.sha256! } });
    expect([row!.width, row!.height]).toEqual([50, 50]); // never enlarged

    await user.caller.file.delete({ ids: [pic.id, junk.id] });
    await user.caller.trash.purge({});
    await collectBlobs();
    expect(await sweepThumbnails()).toBeGreaterThanOrEqual(2);
    expect(await db.thumbnail.findUnique({ where: { sha256: pic.sha256! } })).toBeNull();
    expect(await db.thumbnail.findUnique({ where: { sha256: junk.sha256! } })).toBeNull();
  });
});
