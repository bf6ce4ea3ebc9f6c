import {
  AbortMultipartUploadCommand,
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutBucketPolicyCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { randomBytes } from "node:crypto";
import { afterAll } from "vitest";
import { startOssGateway } from "./oss-gateway";

// Buckets for the async-transfer tests, each test file its own, on the Ceph RGW that
// scripts/ceph-dev.sh started, dropped (objects and unfinished multipart uploads) in afterAll so
// memstore's RAM is given back. The OSS target is the real ali-oss client through the in-repo OSS
// gateway over that RGW: "OSS protocol via local gateway over Ceph RGW", not Aliyun OSS.

// Nothing here may import ~/env: these run before the test file's environment is complete.
const CEPH_MISSING =
  'S3_ENDPOINT is not set, so there is no Ceph RGW to test against. Run the suite through scripts/test.sh, or: set -a; eval "$(bash scripts/ceph-dev.sh start)"; set +a';

const runId = () => `${Date.now().toString(36)}${randomBytes(4).toString("hex")}`;

export function rawS3Client(): S3Client {
  const c = requireCeph();
  return new S3Client({
    endpoint: c.endpoint,
    region: process.env.S3_REGION ?? "us-east-1",
    forcePathStyle: true,
    credentials: { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey },
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
}

/** Every object and unfinished multipart upload in a bucket (for "nothing left behind" checks). */
export async function bucketContents(s3: S3Client, bucket: string): Promise<{ objects: Array<{ key: string; size: number }>; uploads: string[] }> {
  const objects: Array<{ key: string; size: number }> = [];
  const uploads: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    for (const o of page.Contents ?? []) objects.push({ key: o.Key!, size: o.Size ?? 0 });
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  const mp = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
  for (const u of mp.Uploads ?? []) uploads.push(u.Key!);
  return { objects, uploads };
}

export async function dropBucket(s3: S3Client, bucket: string): Promise<void> {
  for (;;) {
    const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
    for (const u of uploads.Uploads ?? []) await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: u.Key, UploadId: u.UploadId }));
    if (!uploads.IsTruncated) break;
  }
  for (;;) {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
    for (const o of page.Contents ?? []) await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: o.Key }));
    if (!page.IsTruncated) break;
  }
  await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
}

function requireCeph() {
  if (!process.env.S3_ENDPOINT || !process.env.S3_ACCESS_KEY_ID || !process.env.S3_SECRET_ACCESS_KEY) throw new Error(CEPH_MISSING);
  return { endpoint: process.env.S3_ENDPOINT, accessKeyId: process.env.S3_ACCESS_KEY_ID, secretAccessKey: process.env.S3_SECRET_ACCESS_KEY };
}

/** A fresh RGW bucket; the env a drive needs to use it as its s3 driver. */
export async function cephBucket(options: { denyWrites?: boolean } = {}): Promise<{ bucket: string; env: Record<string, string> }> {
  const c = requireCeph();
  const bucket = `fs-xfer-${runId()}`;
  const s3 = rawS3Client();
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  if (options.denyWrites) {
    // A target that refuses every write, as RGW enforces it: a bucket policy denying PutObject (parts too).
    const policy = { Version: "2012-10-17", Statement: [{ Effect: "Deny", Principal: "*", Action: ["s3:PutObject"], Resource: [`arn:aws:s3:::${bucket}/*`] }] };
    await s3.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: JSON.stringify(policy) }));
  }
  afterAll(async () => {
    await dropBucket(s3, bucket);
    s3.destroy();
  }, 120_000);
  return {
    bucket,
    env: {
      S3_ENDPOINT: c.endpoint,
      S3_ACCESS_KEY_ID: c.accessKeyId,
      S3_SECRET_ACCESS_KEY: c.secretAccessKey,
      S3_BUCKET: bucket,
      S3_FORCE_PATH_STYLE: "true",
      S3_CREATE_BUCKET: "false",
    },
  };
}

/** A fresh RGW bucket behind an OSS gateway (in this process); the env a drive needs to use it as its oss driver. */
export async function ossGatewayBucket(): Promise<{ bucket: string; env: Record<string, string> }> {
  const c = requireCeph();
  const bucket = `fs-xfer-oss-${runId()}`;
  const s3 = rawS3Client();
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  const keyId = `oss-xfer-${runId()}`;
  const secret = randomBytes(24).toString("base64");
  const gateway = await startOssGateway({ upstream: c, credentials: { [keyId]: secret } });
  afterAll(async () => {
    await gateway.close();
    await dropBucket(s3, bucket);
    s3.destroy();
  }, 120_000);
  return {
    bucket,
    env: { OSS_ENDPOINT: gateway.endpoint, OSS_BUCKET: bucket, OSS_ACCESS_KEY_ID: keyId, OSS_ACCESS_KEY_SECRET: secret, OSS_PATH_STYLE: "true" },
  };
}
