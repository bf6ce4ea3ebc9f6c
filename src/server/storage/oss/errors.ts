import { isNetworkError, type StorageError } from "../errors";
import { isMissingUploadCode, providerError, type ProviderDialect, type ProviderFailure } from "../provider-errors";

// ali-oss errors carry the OSS <Code> in `code`, the HTTP status in `status` (-1 network error, -2
// timeout) and names like "NoSuchKeyError" or "ConnectionTimeoutError". The code table is shared with
// S3 (../provider-errors.ts); OSS adds only a bare 416 (a ranged GET answered without an error body).

const OSS_DIALECT: ProviderDialect = {
  driver: "oss",
  statuses: new Map([[416, "RANGE_NOT_SATISFIABLE"]]),
};

interface AliOssError {
  code?: unknown;
  status?: unknown;
  name?: unknown;
}

export function ossCode(e: unknown): string | undefined {
  const code = (e as AliOssError | null)?.code;
  return typeof code === "string" ? code : undefined;
}

export function ossStatus(e: unknown): number | undefined {
  const status = (e as AliOssError | null)?.status;
  return typeof status === "number" ? status : undefined;
}

function failureOf(e: unknown): ProviderFailure {
  const status = ossStatus(e);
  return { code: ossCode(e), status, unreachable: status === -1 || status === -2 || isNetworkError(e) };
}

export function isMissingObject(e: unknown): boolean {
  return ossCode(e) === "NoSuchKey" || (ossStatus(e) === 404 && ossCode(e) !== "NoSuchBucket" && ossCode(e) !== "NoSuchUpload");
}

/** Unknown, aborted or completed upload (OSS: NoSuchUpload; through an RGW backend also NoSuchKey). */
export function isMissingUpload(e: unknown): boolean {
  return isMissingUploadCode(ossCode(e));
}

export function ossError(e: unknown, operation: string, key?: string): StorageError {
  return providerError(e, failureOf(e), OSS_DIALECT, operation, key);
}
