import { ossGatewayBucket } from "../helpers/transfer-targets";
import { useIsolatedRun } from "../helpers/isolated-run";

// Async transfer from local disk to the oss driver — OSS protocol via local gateway over Ceph RGW
// (real ali-oss, signatures checked; not Aliyun OSS itself). See tests/helpers/transfer-suite.ts.
const target = await ossGatewayBucket();
await useIsolatedRun("xloss", { STORAGE_DRIVER: "local", TRANSFER_TARGET: "oss", TRANSFER_PART_BYTES: String(5 * 1024 * 1024), ...target.env });
const { defineTransferSuite } = await import("../helpers/transfer-suite");
defineTransferSuite("local → oss (OSS protocol via local gateway over Ceph RGW)");
