import { DomainError, type ErrorCode } from "~/server/errors";
import type { DriverName } from "./types";

// Every failure that leaves a driver is a StorageError: a code callers can branch on, the driver and
// operation it came from, and the provider's own error as `cause`. A missing object is not an error
// (get/head/copy/listParts return null); NOT_FOUND is for things that must exist, like an upload id.

export type StorageErrorCode =
  /** A multipart upload (or a copy source the caller said exists) is not there. */
  | "NOT_FOUND"
  /** The key failed ./keys.ts validation. */
  | "INVALID_KEY"
  /** A malformed argument: range, part number, a body shorter or longer than its declared size. */
  | "INVALID_ARGUMENT"
  /** The range selects no byte of the object. */
  | "RANGE_NOT_SATISFIABLE"
  /** complete(): a listed part is missing, has another etag, or is below minPartBytes. */
  | "INVALID_PART"
  /** The body does not match the Content-MD5 given with it (the backend computed and compared it); nothing was stored. */
  | "BAD_DIGEST"
  /** Credentials rejected or permission missing. */
  | "ACCESS_DENIED"
  /** Backend unreachable, timing out or answering 5xx: worth retrying later. */
  | "UNAVAILABLE"
  /** Anything else the provider reported. */
  | "PROVIDER";

export class StorageError extends Error {
  readonly code: StorageErrorCode;
  /** Undefined when no driver was involved yet (a key rejected by ./keys.ts). */
  readonly driver?: DriverName;
  readonly operation: string;

  constructor(
    code: StorageErrorCode,
    message: string,
    options: { driver?: DriverName; operation: string; cause?: unknown },
  ) {
    super(message, { cause: options.cause });
    this.name = "StorageError";
    this.code = code;
    this.driver = options.driver;
    this.operation = options.operation;
  }
}

export function isStorageError(e: unknown, code?: StorageErrorCode): e is StorageError {
  return e instanceof StorageError && (code === undefined || e.code === code);
}

const domainCode: Record<StorageErrorCode, ErrorCode> = {
  NOT_FOUND: "NOT_FOUND",
  INVALID_KEY: "INTERNAL_SERVER_ERROR",
  INVALID_ARGUMENT: "BAD_REQUEST",
  RANGE_NOT_SATISFIABLE: "RANGE_NOT_SATISFIABLE",
  INVALID_PART: "BAD_REQUEST",
  BAD_DIGEST: "INTERNAL_SERVER_ERROR",
  ACCESS_DENIED: "SERVICE_UNAVAILABLE",
  UNAVAILABLE: "SERVICE_UNAVAILABLE",
  PROVIDER: "INTERNAL_SERVER_ERROR",
};

/**
 * The DomainError a service raises for a StorageError, so HTTP statuses stay in ../errors.ts's one
 * table. Keys are built by the server, so a bad one is our bug (500), and a backend that rejects our
 * credentials is an outage for the user (503), not their 403.
 */
export function toDomainError(e: StorageError): DomainError {
  return new DomainError(domainCode[e.code], e.message, { cause: e });
}

function messageOf(cause: unknown): string {
  if (cause instanceof Error) return cause.message || cause.name;
  return String(cause);
}

const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ECONNABORTED",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
]);

/** True for errors that say "could not talk to the backend", whatever library raised them. */
export function isNetworkError(cause: unknown): boolean {
  if (!(cause instanceof Error)) return false;
  const code = (cause as { code?: unknown }).code;
  if (typeof code === "string" && NETWORK_CODES.has(code)) return true;
  const name = cause.name;
  return (
    name === "TimeoutError" ||
    name === "RequestTimeout" ||
    name === "ConnectionTimeoutError" ||
    name === "ResponseTimeoutError" ||
    name === "RequestError" ||
    name === "SocketError"
  );
}

/** Wraps a provider error; a StorageError passes through unchanged. */
export function wrapError(
  cause: unknown,
  ctx: { driver: DriverName; operation: string; key?: string },
  code?: StorageErrorCode,
): StorageError {
  if (cause instanceof StorageError) return cause;
  const resolved: StorageErrorCode = code ?? (isNetworkError(cause) ? "UNAVAILABLE" : "PROVIDER");
  const where = ctx.key === undefined ? ctx.operation : `${ctx.operation} ${JSON.stringify(ctx.key)}`;
  return new StorageError(resolved, `${ctx.driver} storage: ${where} failed: ${messageOf(cause)}`, {
    driver: ctx.driver,
    operation: ctx.operation,
    cause,
  });
}

/**
 * NOT_FOUND when the multipart upload turns out to be gone (an outage-looking error was really "no
 * such upload"), else `error` unchanged. `listParts` is the driver's own (null: no such upload).
 */
export async function missingUploadOr(
  error: StorageError,
  where: { driver: DriverName; operation: string; key: string; uploadId: string },
  listParts: () => Promise<unknown[] | null>,
): Promise<StorageError> {
  if (error.code !== "UNAVAILABLE" && error.code !== "PROVIDER") return error;
  if ((await listParts().catch(() => undefined)) !== null) return error;
  const { driver, operation, key, uploadId } = where;
  return new StorageError("NOT_FOUND", `${driver} storage: ${operation} ${JSON.stringify(key)}: no multipart upload ${JSON.stringify(uploadId)}`, {
    driver,
    operation,
    cause: error,
  });
}
