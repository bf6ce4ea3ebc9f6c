import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { issueUploadGrant } from "~/server/auth/upload-grant";
import { revokeFamilies } from "~/server/auth/revocation";
import { cleanupDriveUsers, sha256hex } from "../helpers/drive-files";
import { startHttpServer, type TestHttpServer } from "../helpers/http-server";
import { sendChunk } from "../helpers/upload-client";
import { anonymousCaller, createTestUser, type TestUser } from "../helpers/users";

// Upload grants (src/server/auth/upload-grant.ts): upload.init hands one out; it stands in for the
// caller on that one upload only (chunks, status, complete, abort), so an upload outlives a sign-in
// that expires meanwhile; it opens nothing else, and signing out stops it.

const MiB = 1024 * 1024;
let server: TestHttpServer;
const users: TestUser[] = [];

beforeAll(async () => {
  server = await startHttpServer();
});

afterAll(async () => {
  await server?.close();
  await cleanupDriveUsers(users);
});

async function newUser(): Promise<TestUser> {
  const user = await createTestUser();
  users.push(user);
  return user;
}

describe("upload grants", () => {
  it("carry an upload to the end without any other credential", async () => {
    const user = await newUser();
    const data = randomBytes(2 * MiB + 5);
    const init = await user.caller.upload.init({ name: "granted.bin", size: data.length, chunkSize: MiB });
    if (!("chunkSize" in init)) throw new Error("unexpected 秒传");
    expect(init.uploadToken).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    const grant = { "x-upload-token": init.uploadToken! };
    for (let i = 0; i < init.chunkCount; i++) {
      const reply = await sendChunk(server.baseUrl, grant, init.uploadId, i, data.subarray(i * MiB, (i + 1) * MiB));
      expect(reply.status).toBe(200);
    }
    const anonymous = await anonymousCaller(grant);
    expect((await anonymous.upload.status({ uploadId: init.uploadId })).received).toEqual([0, 1, 2]);
    const { file } = await anonymous.upload.complete({ uploadId: init.uploadId });
    expect(file.sha256).toBe(sha256hex(data));
    expect(file.name).toBe("granted.bin");
    // It is not a sign-in: nothing else answers to it.
    await expect(anonymous.file.list({})).rejects.toMatchObject({ code: "UNAUTHORIZED" });
    await expect(anonymous.upload.pending()).rejects.toMatchObject({ code: "UNAUTHORIZED" });
  });

  it("are refused for another upload, when altered, and after the sign-in ended", async () => {
    const user = await newUser();
    const a = await user.caller.upload.init({ name: "a.bin", size: 10 });
    const b = await user.caller.upload.init({ name: "b.bin", size: 10 });
    const grantA = a.uploadToken!;
    expect((await sendChunk(server.baseUrl, { "x-upload-token": grantA }, b.uploadId, 0, Buffer.alloc(10))).status).toBe(401);
    const altered = grantA.slice(0, -2) + (grantA.endsWith("AA") ? "BB" : "AA");
    expect((await sendChunk(server.baseUrl, { "x-upload-token": altered }, a.uploadId, 0, Buffer.alloc(10))).status).toBe(401);
    const anonymous = await anonymousCaller({ "x-upload-token": grantA });
    await expect(anonymous.upload.abort({ uploadId: b.uploadId })).rejects.toMatchObject({ code: "UNAUTHORIZED" });

    // Another user's grant is no key to this user's upload even for the same id.
    const other = await newUser();
    const forged = issueUploadGrant(other.actor.familyId ? other.actor : { ...other.actor, familyId: other.familyId }, a.uploadId)!;
    const reply = await sendChunk(server.baseUrl, { "x-upload-token": forged.token }, a.uploadId, 0, Buffer.alloc(10));
    expect(reply.status).toBe(404);

    await revokeFamilies([user.familyId]);
    expect((await sendChunk(server.baseUrl, { "x-upload-token": grantA }, a.uploadId, 0, Buffer.alloc(10))).status).toBe(401);
  });
});
