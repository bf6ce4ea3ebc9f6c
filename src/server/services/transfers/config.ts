import { env } from "~/env";
import type { DriverName } from "~/server/storage";

// Storage tiers: uploads land on STORAGE_DRIVER (the upload tier, fast to write to); with
// TRANSFER_TARGET set, the worker moves every blob committed there to that object store. Each
// driver is configured by its own variables (STORAGE_LOCAL_DIR, S3_*, OSS_*), so two of them can be
// in use at once: local → Ceph, local → OSS, Ceph → OSS.

export interface TransferSettings {
  /** Where uploads land. */
  source: DriverName;
  /** Where blobs move to. */
  target: DriverName;
  graceMs: number;
  minBytes: number;
  partBytes: number;
  partConcurrency: number;
}

/** The configured transfer, or null when blobs stay where they were uploaded. */
export function transferSettings(): TransferSettings | null {
  if (!env.TRANSFER_TARGET) return null;
  return {
    source: env.STORAGE_DRIVER,
    target: env.TRANSFER_TARGET,
    graceMs: env.TRANSFER_GRACE_SECONDS * 1000,
    minBytes: env.TRANSFER_MIN_BYTES,
    partBytes: env.TRANSFER_PART_BYTES,
    partConcurrency: env.TRANSFER_PART_CONCURRENCY,
  };
}

/** Whether a blob of this size on this driver is one the worker moves. */
export function wantsTransfer(driver: string, size: number | bigint, settings = transferSettings()): settings is TransferSettings {
  return settings !== null && driver !== settings.target && Number(size) >= settings.minBytes;
}
