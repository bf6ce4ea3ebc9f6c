import { StorageError, type StorageErrorCode } from "./errors";
import type { DriverName } from "./types";

// S3 and OSS answer errors in the same REST/XML dialect (<Code>NoSuchKey</Code> and friends), so ONE
// table maps a provider's code to ours for both drivers. What only one provider or its SDK reports is
// the driver's `ProviderDialect`, looked at before the shared table.
//
// NoSuchBucket is deliberately absent: a missing bucket is a configuration fault (PROVIDER), not the
// NOT_FOUND callers take as "that upload is gone"; each driver's check() explains it in its own words.

const SHARED_CODES: ReadonlyMap<string, StorageErrorCode> = new Map<string, StorageErrorCode>([
  ["NoSuchKey", "NOT_FOUND"],
  ["NoSuchUpload", "NOT_FOUND"],
  ["InvalidRange", "RANGE_NOT_SATISFIABLE"],
  ["InvalidPart", "INVALID_PART"],
  ["BadDigest", "BAD_DIGEST"],
  ["InvalidDigest", "BAD_DIGEST"],
  ["InvalidPartOrder", "INVALID_PART"],
  ["EntityTooSmall", "INVALID_PART"],
  ["AccessDenied", "ACCESS_DENIED"],
  ["InvalidAccessKeyId", "ACCESS_DENIED"],
  ["SignatureDoesNotMatch", "ACCESS_DENIED"],
  ["RequestTimeTooSkewed", "ACCESS_DENIED"],
  ["InternalError", "UNAVAILABLE"],
  ["ServiceUnavailable", "UNAVAILABLE"],
  ["RequestTimeout", "UNAVAILABLE"],
]);

/** What a driver reads off its SDK's error. */
export interface ProviderFailure {
  /** The provider's <Code>, or undefined for errors that did not come from the provider. */
  code: string | undefined;
  status: number | undefined;
  /** The backend was not reached, or did not answer in time. */
  unreachable: boolean;
}

export interface ProviderDialect {
  driver: DriverName;
  /** Codes only this provider or its SDK reports. */
  codes?: ReadonlyMap<string, StorageErrorCode>;
  /** Statuses that mean something of their own when the code does not (403 and 5xx are shared). */
  statuses?: ReadonlyMap<number, StorageErrorCode>;
}

export function storageCodeFor(failure: ProviderFailure, dialect: ProviderDialect): StorageErrorCode {
  if (failure.unreachable) return "UNAVAILABLE";
  const { code, status } = failure;
  const byCode = code === undefined ? undefined : (dialect.codes?.get(code) ?? SHARED_CODES.get(code));
  if (byCode) return byCode;
  if (status === 403) return "ACCESS_DENIED";
  const byStatus = status === undefined ? undefined : dialect.statuses?.get(status);
  if (byStatus) return byStatus;
  if (status !== undefined && status >= 500) return "UNAVAILABLE";
  return "PROVIDER";
}

/** A provider's error as a StorageError: "<driver> storage: <operation> "<key>" failed: <Code> (HTTP n): <message>". */
export function providerError(e: unknown, failure: ProviderFailure, dialect: ProviderDialect, operation: string, key?: string): StorageError {
  if (e instanceof StorageError) return e;
  const { code, status } = failure;
  const what = key === undefined ? operation : `${operation} ${JSON.stringify(key)}`;
  const message = e instanceof Error ? e.message : String(e);
  const detail = code ? `${code}${status !== undefined ? ` (HTTP ${status})` : ""}: ${message}` : message;
  return new StorageError(storageCodeFor(failure, dialect), `${dialect.driver} storage: ${what} failed: ${detail}`, {
    driver: dialect.driver,
    operation,
    cause: e,
  });
}

/**
 * An upload id that is unknown, aborted or completed. AWS and OSS say NoSuchUpload; RGW 16 answers
 * ListParts of an aborted upload with NoSuchKey (directly, and through the OSS gateway).
 */
export function isMissingUploadCode(code: string | undefined): boolean {
  return code === "NoSuchUpload" || code === "NoSuchKey";
}
