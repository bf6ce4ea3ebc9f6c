import { S3ServiceException } from "@aws-sdk/client-s3";
import { StorageError, isNetworkError, type StorageErrorCode } from "../errors";

// S3 error names (the XML <Code>, which the SDK puts in `name`) → StorageError codes. RGW 16 answers a
// few things differently from AWS (ListParts of an aborted upload: NoSuchKey, not NoSuchUpload), so the
// "missing" sets below are deliberately wide.

const DRIVER = "s3" as const;

/** The provider's error code (S3 <Code>), or undefined for non-S3 errors. */
export function s3ErrorName(e: unknown): string | undefined {
  if (e instanceof S3ServiceException) return e.name;
  if (e instanceof Error && "$metadata" in e) return e.name;
  return undefined;
}

export function s3Status(e: unknown): number | undefined {
  const meta = (e as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata;
  return meta?.httpStatusCode;
}

/** GetObject/HeadObject/CopyObject of an object that is not there (but the bucket is). */
export function isMissingObject(e: unknown): boolean {
  const name = s3ErrorName(e);
  return name === "NoSuchKey" || name === "NotFound";
}

/** An upload id that is unknown, aborted or completed (AWS: NoSuchUpload; RGW 16 ListParts: NoSuchKey). */
export function isMissingUpload(e: unknown): boolean {
  const name = s3ErrorName(e);
  return name === "NoSuchUpload" || name === "NoSuchKey";
}

function codeFor(e: unknown): StorageErrorCode {
  if (isNetworkError(e)) return "UNAVAILABLE";
  const name = s3ErrorName(e);
  const status = s3Status(e);
  switch (name) {
    case "NoSuchKey":
    case "NoSuchUpload":
    case "NotFound":
      return "NOT_FOUND";
    case "InvalidRange":
      return "RANGE_NOT_SATISFIABLE";
    case "InvalidPart":
    case "InvalidPartOrder":
    case "EntityTooSmall":
      return "INVALID_PART";
    case "AccessDenied":
    case "InvalidAccessKeyId":
    case "SignatureDoesNotMatch":
    case "RequestTimeTooSkewed":
    case "Forbidden":
      return "ACCESS_DENIED";
    case "SlowDown":
    case "ServiceUnavailable":
    case "InternalError":
    case "RequestTimeout":
      return "UNAVAILABLE";
  }
  if (status === 403) return "ACCESS_DENIED";
  if (status !== undefined && status >= 500) return "UNAVAILABLE";
  return "PROVIDER";
}

export function s3Error(e: unknown, operation: string, key?: string): StorageError {
  if (e instanceof StorageError) return e;
  const name = s3ErrorName(e);
  const status = s3Status(e);
  const what = key === undefined ? operation : `${operation} ${JSON.stringify(key)}`;
  const detail = name ? `${name}${status ? ` (HTTP ${status})` : ""}: ${(e as Error).message}` : e instanceof Error ? e.message : String(e);
  return new StorageError(codeFor(e), `s3 storage: ${what} failed: ${detail}`, { driver: DRIVER, operation, cause: e });
}
