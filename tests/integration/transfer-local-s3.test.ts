import { cephBucket } from "../helpers/transfer-targets";
import { useIsolatedRun } from "../helpers/isolated-run";

// Async transfer from local disk to Ceph RGW (s3 driver), see tests/helpers/transfer-suite.ts.
const target = await cephBucket();
await useIsolatedRun("xls3", { STORAGE_DRIVER: "local", TRANSFER_TARGET: "s3", TRANSFER_PART_BYTES: String(5 * 1024 * 1024), ...target.env });
const { defineTransferSuite } = await import("../helpers/transfer-suite");
defineTransferSuite("local → Ceph RGW (s3)");
