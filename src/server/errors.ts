import type { TRPC_ERROR_CODE_KEY } from "@trpc/server";

// The ONE table from a domain error code to its tRPC code and HTTP status. tRPC procedures, raw
// routes, tus and the worker all go through it; nothing else maps errors to statuses.
export const errorTable = {
  BAD_REQUEST: { trpc: "BAD_REQUEST", status: 400 },
  UNAUTHORIZED: { trpc: "UNAUTHORIZED", status: 401 },
  FORBIDDEN: { trpc: "FORBIDDEN", status: 403 },
  NOT_FOUND: { trpc: "NOT_FOUND", status: 404 },
  METHOD_NOT_SUPPORTED: { trpc: "METHOD_NOT_SUPPORTED", status: 405 },
  CONFLICT: { trpc: "CONFLICT", status: 409 },
  /** An upload of the caller's that expired or was terminated (tus answers 410 for those). */
  GONE: { trpc: "NOT_FOUND", status: 410 },
  PRECONDITION_FAILED: { trpc: "PRECONDITION_FAILED", status: 412 },
  PAYLOAD_TOO_LARGE: { trpc: "PAYLOAD_TOO_LARGE", status: 413 },
  UNSUPPORTED_MEDIA_TYPE: { trpc: "UNSUPPORTED_MEDIA_TYPE", status: 415 },
  RANGE_NOT_SATISFIABLE: { trpc: "BAD_REQUEST", status: 416 },
  UNPROCESSABLE_CONTENT: { trpc: "UNPROCESSABLE_CONTENT", status: 422 },
  /** tus: an upload that is busy completing; clients retry. */
  LOCKED: { trpc: "CONFLICT", status: 423 },
  TOO_MANY_REQUESTS: { trpc: "TOO_MANY_REQUESTS", status: 429 },
  INTERNAL_SERVER_ERROR: { trpc: "INTERNAL_SERVER_ERROR", status: 500 },
  SERVICE_UNAVAILABLE: { trpc: "SERVICE_UNAVAILABLE", status: 503 },
  /** tus checksum extension: the body does not match its Upload-Checksum. */
  CHECKSUM_MISMATCH: { trpc: "UNPROCESSABLE_CONTENT", status: 460 },
} as const satisfies Record<string, { trpc: TRPC_ERROR_CODE_KEY; status: number }>;

export type ErrorCode = keyof typeof errorTable;

export class DomainError extends Error {
  readonly code: ErrorCode;
  /** Extra machine-readable facts for the client (e.g. missing chunk indices, retryAfter seconds). */
  readonly details?: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options?: { details?: Record<string, unknown>; cause?: unknown }) {
    super(message, { cause: options?.cause });
    this.name = "DomainError";
    this.code = code;
    this.details = options?.details;
  }

  get status(): number {
    return errorTable[this.code].status;
  }
}

export const notFound = (what = "Not found") => new DomainError("NOT_FOUND", what);
export const badRequest = (message: string, details?: Record<string, unknown>) =>
  new DomainError("BAD_REQUEST", message, { details });

export function isDomainError(e: unknown): e is DomainError {
  return e instanceof DomainError;
}
