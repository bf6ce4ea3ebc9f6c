import { S3ServiceException } from "@aws-sdk/client-s3";
import { isNetworkError, type StorageError } from "../errors";
import { isMissingUploadCode, providerError, type ProviderDialect, type ProviderFailure } from "../provider-errors";

// The SDK puts the S3 <Code> in the error's `name`. The code table is shared with OSS (../provider-errors.ts);
// here are only the names the AWS SDK makes up for a HEAD answered without a body (NotFound, Forbidden)
// and S3's throttling code.

const S3_DIALECT: ProviderDialect = {
  driver: "s3",
  codes: new Map([
    ["NotFound", "NOT_FOUND"],
    ["Forbidden", "ACCESS_DENIED"],
    ["SlowDown", "UNAVAILABLE"],
  ]),
};

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

function failureOf(e: unknown): ProviderFailure {
  return { code: s3ErrorName(e), status: s3Status(e), unreachable: isNetworkError(e) };
}

/** GetObject/HeadObject/CopyObject of an object that is not there (but the bucket is). */
export function isMissingObject(e: unknown): boolean {
  const name = s3ErrorName(e);
  return name === "NoSuchKey" || name === "NotFound";
}

/** An upload id that is unknown, aborted or completed (AWS: NoSuchUpload; RGW 16 ListParts: NoSuchKey). */
export function isMissingUpload(e: unknown): boolean {
  return isMissingUploadCode(s3ErrorName(e));
}

export function s3Error(e: unknown, operation: string, key?: string): StorageError {
  return providerError(e, failureOf(e), S3_DIALECT, operation, key);
}
