import { randomBytes } from "node:crypto";

/**
 * Points this test file's drive at the s3 driver on the real Ceph RGW that scripts/ceph-dev.sh
 * started (`eval "$(bash scripts/ceph-dev.sh start)"` exports S3_*; `npm test` does it), with this
 * run's keys under their own prefix in the shared bucket. Call it before anything imports ~/env
 * (import the suite dynamically afterwards): the environment is read once, on first import.
 */
export function useCephS3(prefixLabel: string): void {
  if (!process.env.S3_ENDPOINT) {
    throw new Error("S3_ENDPOINT is not set: start Ceph with `eval \"$(bash scripts/ceph-dev.sh start)\"` (npm test does)");
  }
  Object.assign(process.env, {
    STORAGE_DRIVER: "s3",
    S3_BUCKET: process.env.S3_BUCKET ?? "filestore",
    S3_CREATE_BUCKET: "true",
    STORAGE_PREFIX: `${prefixLabel}-${randomBytes(4).toString("hex")}`,
  });
}
