import { CreateBucketCommand, PutBucketPolicyCommand } from "@aws-sdk/client-s3";
import { randomBytes } from "node:crypto";
import { afterAll } from "vitest";
import { startOssGateway } from "./oss-gateway";
import { dropBucket, rawS3Client, requireCeph, runId } from "./s3-raw";

export { bucketContents, dropBucket, rawS3Client } from "./s3-raw";

// Buckets for the async-transfer tests, each test file its own, on the Ceph RGW that
// scripts/ceph-dev.sh started, dropped (objects and unfinished multipart uploads) in afterAll so
// memstore's RAM is given back. The OSS target is the real ali-oss client through the in-repo OSS
// gateway over that RGW: "OSS protocol via local gateway over Ceph RGW", not Aliyun OSS.


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
