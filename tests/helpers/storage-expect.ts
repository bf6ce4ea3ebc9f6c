import { Readable } from "node:stream";
import { expect } from "vitest";
import { isStorageError, type StorageErrorCode } from "~/server/storage/errors";
import { sha256 } from "./storage-data";

// Assertions shared by the storage contract files.

export async function expectStorageError(promise: Promise<unknown>, code: StorageErrorCode): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isStorageError(error)) throw new Error(`expected a StorageError ${code}, got ${error === undefined ? "success" : String(error)}`);
  expect(error.code).toBe(code);
}

/** Byte equality by length and digest: vitest's deep toEqual on multi-MiB Buffers takes minutes. */
export function expectBytes(actual: Buffer, expected: Buffer): void {
  expect({ length: actual.length, sha256: sha256(actual) }).toEqual({ length: expected.length, sha256: sha256(expected) });
}

export const body = (data: Buffer | string) => Readable.from([typeof data === "string" ? Buffer.from(data) : data]);
