import {
  AbortMultipartUploadCommand,
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  S3Client,
} from "@aws-sdk/client-s3";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { env } from "~/env";
import { createDriver } from "~/server/storage";
import type { StorageDriver } from "~/server/storage/types";
import { startOssGateway } from "./oss-gateway";

// Driver factories for the storage contract suite: a temp directory, a fresh bucket on the Ceph RGW
// that scripts/ceph-dev.sh started (S3_* variables), the same RGW behind the OSS gateway, and (only
// with OSS_LIVE=1) real Aliyun OSS. Each gives a driver, the smallest part size its backend really
// accepts, and a cleanup that leaves nothing behind.

export interface StorageBackend {
  driver: StorageDriver;
  /** Smallest non-last part the backend behind the driver accepts (RGW behind the OSS gateway: 5 MiB). */
  minPartBytes: number;
  /** Prefix all test keys go under. */
  keyPrefix: string;
  cleanup(): Promise<void>;
}

/** Small thresholds so the suite exercises the multipart paths of put() and copy() with small objects. */
const PART_BYTES = 5 * 1024 * 1024;
const SINGLE_COPY_MAX = 6 * 1024 * 1024;

export const CEPH_MISSING =
  "S3_ENDPOINT is not set, so there is no Ceph RGW to test against. Run the suite through scripts/test.sh, " +
  'or start one yourself: eval "$(bash scripts/ceph-dev.sh start)" (set -a first to export the variables).';

export function runId(): string {
  return `${Date.now().toString(36)}${randomBytes(4).toString("hex")}`;
}

export async function localBackend(): Promise<StorageBackend> {
  const root = await mkdtemp(path.join(os.tmpdir(), "fs-storage-contract-"));
  const driver = createDriver("local", { root });
  return { driver, minPartBytes: 1, keyPrefix: `t-${runId()}/`, cleanup: () => rm(root, { recursive: true, force: true }) };
}

function cephCredentials() {
  if (!env.S3_ENDPOINT || !env.S3_ACCESS_KEY_ID || !env.S3_SECRET_ACCESS_KEY) throw new Error(CEPH_MISSING);
  return { endpoint: env.S3_ENDPOINT, accessKeyId: env.S3_ACCESS_KEY_ID, secretAccessKey: env.S3_SECRET_ACCESS_KEY };
}

export function rawS3Client(): S3Client {
  const c = cephCredentials();
  return new S3Client({
    endpoint: c.endpoint,
    region: env.S3_REGION,
    forcePathStyle: true,
    credentials: { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey },
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
}

/** Empties and removes a test bucket on RGW (objects and unfinished multipart uploads). */
export async function dropBucket(s3: S3Client, bucket: string): Promise<void> {
  for (;;) {
    const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
    for (const u of uploads.Uploads ?? []) {
      await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: u.Key, UploadId: u.UploadId }));
    }
    if (!uploads.IsTruncated) break;
  }
  for (;;) {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
    for (const o of page.Contents ?? []) await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: o.Key }));
    if (!page.IsTruncated) break;
  }
  await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
}

export async function cephS3Backend(): Promise<StorageBackend> {
  const c = cephCredentials();
  const bucket = `fs-test-${runId()}`;
  const driver = createDriver("s3", {
    endpoint: c.endpoint,
    region: env.S3_REGION,
    bucket,
    accessKeyId: c.accessKeyId,
    secretAccessKey: c.secretAccessKey,
    forcePathStyle: true,
    createBucket: true,
    partBytes: PART_BYTES,
    singleCopyMaxBytes: SINGLE_COPY_MAX,
    copyPartBytes: PART_BYTES,
  });
  await driver.check(); // creates the bucket
  const s3 = rawS3Client();
  return {
    driver,
    minPartBytes: driver.capabilities.minPartBytes,
    keyPrefix: `t-${runId()}/`,
    cleanup: async () => {
      await dropBucket(s3, bucket);
      s3.destroy();
    },
  };
}

export async function ossGatewayBackend(): Promise<StorageBackend> {
  const c = cephCredentials();
  const bucket = `fs-test-${runId()}`;
  const s3 = rawS3Client();
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  const ossKeyId = `oss-test-${runId()}`;
  const ossSecret = randomBytes(24).toString("base64");
  const gateway = await startOssGateway({ upstream: c, credentials: { [ossKeyId]: ossSecret } });
  const driver = createDriver("oss", {
    endpoint: gateway.endpoint,
    bucket,
    accessKeyId: ossKeyId,
    accessKeySecret: ossSecret,
    pathStyle: true,
    partBytes: PART_BYTES,
    singleCopyMaxBytes: SINGLE_COPY_MAX,
    copyPartBytes: PART_BYTES,
  });
  return {
    driver,
    // Aliyun OSS accepts 100 KiB parts; the RGW behind the gateway enforces S3's 5 MiB.
    minPartBytes: 5 * 1024 * 1024,
    keyPrefix: `t-${runId()}/`,
    cleanup: async () => {
      await gateway.close();
      await dropBucket(s3, bucket);
      s3.destroy();
    },
  };
}

export const ossLiveReady = (): boolean =>
  env.OSS_LIVE && Boolean(env.OSS_ACCESS_KEY_ID && env.OSS_ACCESS_KEY_SECRET && (env.OSS_ENDPOINT || env.OSS_REGION));

/** Real Aliyun OSS (OSS_LIVE=1 and OSS_* set): keys under a unique prefix in OSS_BUCKET, removed afterwards. */
export async function ossLiveBackend(): Promise<StorageBackend> {
  const driver = createDriver("oss", {
    region: env.OSS_REGION,
    endpoint: env.OSS_ENDPOINT,
    bucket: env.OSS_BUCKET,
    accessKeyId: env.OSS_ACCESS_KEY_ID ?? "",
    accessKeySecret: env.OSS_ACCESS_KEY_SECRET ?? "",
    pathStyle: env.OSS_PATH_STYLE,
    partBytes: PART_BYTES,
    singleCopyMaxBytes: SINGLE_COPY_MAX,
    copyPartBytes: PART_BYTES,
  });
  await driver.check();
  const keyPrefix = `fs-test-${runId()}/`;
  return {
    driver,
    minPartBytes: driver.capabilities.minPartBytes,
    keyPrefix,
    cleanup: async () => {
      for await (const item of driver.list(keyPrefix)) await driver.delete(item.key);
    },
  };
}
