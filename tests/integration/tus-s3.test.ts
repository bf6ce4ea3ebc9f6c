import { randomBytes } from "node:crypto";

// The same tus suite against the s3 driver on a real Ceph RGW (`eval "$(bash scripts/ceph-dev.sh
// start)"` exports S3_*; `npm test` does it): parts of at least 5 MiB, tails as their own objects.
if (!process.env.S3_ENDPOINT) {
  throw new Error("S3_ENDPOINT is not set: start Ceph with `eval \"$(bash scripts/ceph-dev.sh start)\"` (npm test does)");
}
Object.assign(process.env, {
  STORAGE_DRIVER: "s3",
  S3_BUCKET: process.env.S3_BUCKET ?? "filestore",
  S3_CREATE_BUCKET: "true",
  STORAGE_PREFIX: `test-tus-${randomBytes(4).toString("hex")}`,
});

const { defineTusSuite } = await import("../helpers/tus-suite");
defineTusSuite("s3 on Ceph RGW");
