import { randomBytes } from "node:crypto";

// The same chunked-upload and 秒传 suite against the s3 driver on a real Ceph RGW
// (`eval "$(bash scripts/ceph-dev.sh start)"` exports S3_*; `npm test` does it). Chunks then go
// straight into an S3 multipart upload, 5 MiB minimum part size.
if (!process.env.S3_ENDPOINT) {
  throw new Error("S3_ENDPOINT is not set: start Ceph with `eval \"$(bash scripts/ceph-dev.sh start)\"` (npm test does)");
}
Object.assign(process.env, {
  STORAGE_DRIVER: "s3",
  S3_BUCKET: process.env.S3_BUCKET ?? "filestore",
  S3_CREATE_BUCKET: "true",
  // Keys of this run under their own prefix in the shared bucket.
  STORAGE_PREFIX: `test-uploads-${randomBytes(4).toString("hex")}`,
});

const { defineUploadSuite } = await import("../helpers/upload-suite");
defineUploadSuite("s3 on Ceph RGW");
