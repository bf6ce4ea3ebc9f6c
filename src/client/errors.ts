import { TRPCClientError } from "@trpc/client";

// One error type for everything the client throws: the server's code names (API.md: UNAUTHORIZED,
// NOT_FOUND, CONFLICT, PAYLOAD_TOO_LARGE …, the same for tRPC and raw routes) plus the client's own:
// NETWORK (the server could not be reached or the connection broke), INTEGRITY (bytes whose SHA-256
// is not the one expected) and CHANGED (a local file that changed while it was being uploaded).

export type ClientErrorCode =
  | "BAD_REQUEST"
  | "UNAUTHORIZED"
  | "FORBIDDEN"
  | "NOT_FOUND"
  | "CONFLICT"
  | "PRECONDITION_FAILED"
  | "PAYLOAD_TOO_LARGE"
  | "UNPROCESSABLE_CONTENT"
  | "RANGE_NOT_SATISFIABLE"
  | "TOO_MANY_REQUESTS"
  | "INTERNAL_SERVER_ERROR"
  | "SERVICE_UNAVAILABLE"
  | "NETWORK"
  | "INTEGRITY"
  | "CHANGED"
  | (string & {});

export class FilestoreError extends Error {
  readonly code: ClientErrorCode;
  /** The HTTP status, when a server answered. */
  readonly status: number | null;
  /** The server's machine-readable facts (missing chunk indices, retryAfter, reason …). */
  readonly details: Record<string, unknown>;

  constructor(code: ClientErrorCode, message: string, opts: { status?: number | null; details?: Record<string, unknown> | null; cause?: unknown } = {}) {
    super(message, { cause: opts.cause });
    this.name = "FilestoreError";
    this.code = code;
    this.status = opts.status ?? null;
    this.details = opts.details ?? {};
  }

  /** Seconds the server asked us to wait (429 / 503 with Retry-After), if it said. */
  get retryAfter(): number | null {
    const v = this.details.retryAfter;
    return typeof v === "number" && Number.isFinite(v) ? v : null;
  }
}

const STATUS_CODES: Record<number, ClientErrorCode> = {
  400: "BAD_REQUEST",
  401: "UNAUTHORIZED",
  403: "FORBIDDEN",
  404: "NOT_FOUND",
  409: "CONFLICT",
  410: "NOT_FOUND",
  412: "PRECONDITION_FAILED",
  413: "PAYLOAD_TOO_LARGE",
  416: "RANGE_NOT_SATISFIABLE",
  422: "UNPROCESSABLE_CONTENT",
  429: "TOO_MANY_REQUESTS",
  503: "SERVICE_UNAVAILABLE",
};

export function codeForStatus(status: number): ClientErrorCode {
  return STATUS_CODES[status] ?? (status >= 500 ? "INTERNAL_SERVER_ERROR" : "BAD_REQUEST");
}

/** Node's socket-level failures: the server is unreachable or went away mid-request. */
const NETWORK_ERRNOS = new Set([
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
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
]);

function errnoOf(e: unknown): string | undefined {
  for (let cur: unknown = e, depth = 0; cur && depth < 5; depth++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === "string" && NETWORK_ERRNOS.has(code)) return code;
    cur = (cur as { cause?: unknown }).cause;
  }
  return undefined;
}

export function isNetworkFailure(e: unknown): boolean {
  if (e instanceof FilestoreError) return e.code === "NETWORK";
  if (errnoOf(e)) return true;
  // fetch() reports every connection failure as TypeError("fetch failed").
  return e instanceof TypeError && e.message === "fetch failed";
}

export function networkError(e: unknown, url: string): FilestoreError {
  const errno = errnoOf(e);
  let deepest: unknown = e;
  while (deepest instanceof Error && deepest.cause instanceof Error) deepest = deepest.cause;
  const why = errno ?? (deepest instanceof Error ? deepest.message : String(deepest));
  return new FilestoreError("NETWORK", `Cannot reach ${new URL(url).origin} (${why})`, { cause: e });
}

/** The client error for anything a tRPC call threw. */
export function fromTrpcError(e: unknown, url: string): FilestoreError {
  if (e instanceof FilestoreError) return e;
  if (e instanceof TRPCClientError) {
    // Thrown by our own link (e.g. a refresh that failed): the client error it wraps.
    if (e.cause instanceof FilestoreError) return e.cause;
    const data = (e.data ?? {}) as {
      code?: string;
      domainCode?: string;
      httpStatus?: number;
      details?: Record<string, unknown> | null;
      reason?: string;
      zodError?: { fieldErrors?: Record<string, string[]>; formErrors?: string[] } | null;
    };
    if (!e.data && isNetworkFailure(e.cause ?? e)) return networkError(e.cause ?? e, url);
    const code = data.domainCode === "GONE" ? "NOT_FOUND" : (data.domainCode ?? data.code ?? "INTERNAL_SERVER_ERROR");
    const details: Record<string, unknown> = { ...(data.details ?? {}) };
    if (data.reason) details.reason = data.reason;
    let message = e.message;
    const fields = data.zodError?.fieldErrors;
    if (fields && Object.keys(fields).length) {
      message = `${message}: ${Object.entries(fields)
        .map(([field, errs]) => `${field}: ${(errs ?? []).join(", ")}`)
        .join("; ")}`;
    }
    return new FilestoreError(code, message, { status: data.httpStatus ?? null, details, cause: e });
  }
  if (isNetworkFailure(e)) return networkError(e, url);
  return new FilestoreError("INTERNAL_SERVER_ERROR", e instanceof Error ? e.message : String(e), { cause: e });
}
