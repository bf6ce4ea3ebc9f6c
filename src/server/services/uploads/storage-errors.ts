import { DomainError } from "~/server/errors";
import { isStorageError, toDomainError } from "~/server/storage";

/** A storage failure as the DomainError the client sees (a DomainError passes through). */
export function storageError(e: unknown): unknown {
  if (e instanceof DomainError) return e;
  if (isStorageError(e)) return toDomainError(e);
  return e;
}
