import {
  AbortMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  S3Client,
} from "@aws-sdk/client-s3";
import { randomBytes } from "node:crypto";

// A raw S3 client on the Ceph RGW scripts/ceph-dev.sh started, for tests and benchmarks to look at
// and clean up buckets behind the drive's back. No vitest and no ~/env here: benchmarks use it, and
// test files call it before their environment is complete.

// Nothing here may import ~/env: these run before the test file's environment is complete.
const CEPH_MISSING =
  'S3_ENDPOINT is not set, so there is no Ceph RGW to test against. Run the suite through scripts/test.sh, or: set -a; eval "$(bash scripts/ceph-dev.sh start)"; set +a';

export const runId = () => `${Date.now().toString(36)}${randomBytes(4).toString("hex")}`;

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

export function requireCeph() {
  if (!process.env.S3_ENDPOINT || !process.env.S3_ACCESS_KEY_ID || !process.env.S3_SECRET_ACCESS_KEY) throw new Error(CEPH_MISSING);
  return { endpoint: process.env.S3_ENDPOINT, accessKeyId: process.env.S3_ACCESS_KEY_ID, secretAccessKey: process.env.S3_SECRET_ACCESS_KEY };
}
