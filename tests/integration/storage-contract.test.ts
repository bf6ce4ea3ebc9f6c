import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { createDriver } from "~/server/storage";
import { isStorageError } from "~/server/storage/errors";
import { CEPH_MISSING, cephS3Backend, localBackend, ossGatewayBackend, ossLiveBackend, ossLiveReady, runId } from "../helpers/storage-backends";
import { defineStorageContract } from "../helpers/storage-contract";
import { env } from "~/env";

// The storage contract (tests/helpers/storage-contract.ts) against every backend. The Ceph-backed
// suites need the RGW that scripts/test.sh starts (S3_* variables); without it they fail, on purpose.

defineStorageContract("local driver (temp directory)", localBackend, { readPart: true });
defineStorageContract("s3 driver on Ceph RGW", cephS3Backend);
defineStorageContract("oss driver — OSS protocol via local gateway over Ceph RGW", ossGatewayBackend);

describe("oss driver — live Aliyun OSS", () => {
  it.skipIf(!ossLiveReady())("runs only with OSS_LIVE=1 and OSS_ACCESS_KEY_ID, OSS_ACCESS_KEY_SECRET, OSS_BUCKET, OSS_ENDPOINT or OSS_REGION set", () => {
    expect(ossLiveReady()).toBe(true);
  });
});
if (ossLiveReady()) defineStorageContract("oss driver — live Aliyun OSS", ossLiveBackend);

describe("check() reports unusable backends clearly", () => {
  it("s3: wrong credentials are ACCESS_DENIED", async () => {
    if (!env.S3_ENDPOINT) throw new Error(CEPH_MISSING);
    const driver = createDriver("s3", {
      endpoint: env.S3_ENDPOINT,
      region: env.S3_REGION,
      bucket: `fs-test-${runId()}`,
      accessKeyId: env.S3_ACCESS_KEY_ID,
      secretAccessKey: "not-the-secret",
      forcePathStyle: true,
      createBucket: true,
    });
    const error = await driver.check().then(() => null, (e: unknown) => e);
    expect(isStorageError(error, "ACCESS_DENIED")).toBe(true);
    expect(String((error as Error).message)).toContain("fs-test-");
  });

  it("s3: a missing bucket without createBucket says so", async () => {
    if (!env.S3_ENDPOINT) throw new Error(CEPH_MISSING);
    const driver = createDriver("s3", {
      endpoint: env.S3_ENDPOINT,
      region: env.S3_REGION,
      bucket: `fs-test-missing-${runId()}`,
      accessKeyId: env.S3_ACCESS_KEY_ID,
      secretAccessKey: env.S3_SECRET_ACCESS_KEY,
      forcePathStyle: true,
      createBucket: false,
    });
    await expect(driver.check()).rejects.toThrow(/does not exist/);
  });

  it("s3: an unreachable endpoint is UNAVAILABLE", async () => {
    const driver = createDriver("s3", {
      endpoint: "http://127.0.0.1:9",
      region: "us-east-1",
      bucket: "nowhere",
      accessKeyId: "x",
      secretAccessKey: "y",
      forcePathStyle: true,
      createBucket: false,
    });
    const error = await driver.check().then(() => null, (e: unknown) => e);
    expect(isStorageError(error, "UNAVAILABLE")).toBe(true);
  });

  it("oss: an unreachable endpoint is UNAVAILABLE", async () => {
    const driver = createDriver("oss", { endpoint: "http://localhost:9", bucket: "nowhere", accessKeyId: "x", accessKeySecret: "y", pathStyle: true });
    const error = await driver.check().then(() => null, (e: unknown) => e);
    expect(isStorageError(error, "UNAVAILABLE")).toBe(true);
  });

  it("local: a root that cannot be created is UNAVAILABLE", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "fs-storage-check-"));
    await writeFile(path.join(dir, "a-file"), "x");
    try {
      const driver = createDriver("local", { root: path.join(dir, "a-file", "storage") });
      const error = await driver.check().then(() => null, (e: unknown) => e);
      expect(isStorageError(error, "UNAVAILABLE")).toBe(true);
      expect((error as Error).message).toContain("is not writable");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
