import { useIsolatedRun } from "../helpers/isolated-run";
import { useCephS3 } from "../helpers/use-ceph-s3";

// Issue 17 on Ceph RGW (tests/helpers/dedup-repair-suite.ts).
useCephS3("test-dedup");
const run = await useIsolatedRun("dedups3", {});
const { defineDedupRepairSuite } = await import("../helpers/dedup-repair-suite");
defineDedupRepairSuite("Ceph RGW", {
  ...run.env,
  STORAGE_DRIVER: "s3",
  S3_BUCKET: process.env.S3_BUCKET!,
  STORAGE_PREFIX: process.env.STORAGE_PREFIX!,
});
