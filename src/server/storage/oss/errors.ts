import { StorageError, isNetworkError, type StorageErrorCode } from "../errors";

// ali-oss errors carry the OSS <Code> in `code`, the HTTP status in `status` (-1 network error, -2
// timeout) and names like "NoSuchKeyError" or "ConnectionTimeoutError".

const DRIVER = "oss" as const;

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

export function isMissingObject(e: unknown): boolean {
  return ossCode(e) === "NoSuchKey" || (ossStatus(e) === 404 && ossCode(e) !== "NoSuchBucket" && ossCode(e) !== "NoSuchUpload");
}

/** Unknown, aborted or completed upload (OSS: NoSuchUpload; through an RGW backend also NoSuchKey). */
export function isMissingUpload(e: unknown): boolean {
  const code = ossCode(e);
  return code === "NoSuchUpload" || code === "NoSuchKey";
}

function codeFor(e: unknown): StorageErrorCode {
  const status = ossStatus(e);
  if (status === -1 || status === -2 || isNetworkError(e)) return "UNAVAILABLE";
  switch (ossCode(e)) {
    case "NoSuchKey":
    case "NoSuchUpload":
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
      return "ACCESS_DENIED";
    case "InternalError":
    case "ServiceUnavailable":
    case "RequestTimeout":
      return "UNAVAILABLE";
  }
  if (status === 403) return "ACCESS_DENIED";
  if (status === 416) return "RANGE_NOT_SATISFIABLE";
  if (status !== undefined && status >= 500) return "UNAVAILABLE";
  return "PROVIDER";
}

export function ossError(e: unknown, operation: string, key?: string): StorageError {
  if (e instanceof StorageError) return e;
  const code = ossCode(e);
  const status = ossStatus(e);
  const what = key === undefined ? operation : `${operation} ${JSON.stringify(key)}`;
  const message = e instanceof Error ? e.message : String(e);
  const detail = code ? `${code}${status !== undefined ? ` (HTTP ${status})` : ""}: ${message}` : message;
  return new StorageError(codeFor(e), `oss storage: ${what} failed: ${detail}`, { driver: DRIVER, operation, cause: e });
}
