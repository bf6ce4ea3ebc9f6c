import { cephBucket, ossGatewayBucket } from "../helpers/transfer-targets";
import { useIsolatedRun } from "../helpers/isolated-run";

// Async transfer from Ceph RGW (the s3 driver as the upload tier) to the oss driver — OSS protocol via
// local gateway over Ceph RGW. See tests/helpers/transfer-suite.ts.
const source = await cephBucket();
const target = await ossGatewayBucket();
await useIsolatedRun("xs3oss", { STORAGE_DRIVER: "s3", TRANSFER_TARGET: "oss", TRANSFER_PART_BYTES: String(5 * 1024 * 1024), ...source.env, ...target.env });
const { defineTransferSuite } = await import("../helpers/transfer-suite");
defineTransferSuite("Ceph RGW (s3) → oss (OSS protocol via local gateway over Ceph RGW)");
