import { env } from "~/env";
import { StorageError } from "./errors";

// The one place storage keys are built and validated. Services build keys with the helpers below
// (which apply STORAGE_PREFIX); every driver re-checks each key it is handed with assertValidKey, so
// no code path reaches a filesystem path or an object name with `..`, an empty segment or a control
// character in it.

/** Fits every backend (S3 1024, OSS 1023 bytes) and the VARCHAR(512) key columns. */
export const MAX_KEY_BYTES = 512;
/** One path segment becomes one file name for the local driver (NAME_MAX on Linux). */
export const MAX_SEGMENT_BYTES = 255;

// C0 and C1 controls, DEL, and the Unicode line/paragraph separators (they break logs and headers).
const FORBIDDEN_CHARS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\\]/;

function segmentProblem(segment: string): string | null {
  if (segment === "") return "has an empty segment";
  if (segment === "." || segment === "..") return `has a "${segment}" segment`;
  if (Buffer.byteLength(segment, "utf8") > MAX_SEGMENT_BYTES) return `has a segment over ${MAX_SEGMENT_BYTES} bytes`;
  return null;
}

function charsProblem(value: string): string | null {
  if (!value.isWellFormed()) return "is not well-formed Unicode (lone surrogate)";
  if (FORBIDDEN_CHARS.test(value)) return "contains a control character or backslash";
  if (Buffer.byteLength(value, "utf8") > MAX_KEY_BYTES) return `is longer than ${MAX_KEY_BYTES} bytes`;
  return null;
}

/** Why `key` is not a valid object key, or null when it is. */
export function keyProblem(key: string): string | null {
  if (typeof key !== "string" || key === "") return "is empty";
  const chars = charsProblem(key);
  if (chars) return chars;
  if (key.startsWith("/")) return "starts with a slash";
  if (key.endsWith("/")) return "ends with a slash";
  for (const segment of key.split("/")) {
    const problem = segmentProblem(segment);
    if (problem) return problem;
  }
  return null;
}

/**
 * Why `prefix` is not a valid listing prefix, or null. A prefix is a plain string prefix of keys: ""
 * (everything), "staging/" or "blobs/ab" (a partial last segment) are all fine.
 */
export function prefixProblem(prefix: string): string | null {
  if (typeof prefix !== "string") return "is not a string";
  if (prefix === "") return null;
  const chars = charsProblem(prefix);
  if (chars) return chars;
  if (prefix.startsWith("/")) return "starts with a slash";
  const segments = prefix.split("/");
  const last = segments.pop() ?? "";
  for (const segment of segments) {
    const problem = segmentProblem(segment);
    if (problem) return problem;
  }
  if (last === "." || last === "..") return `has a "${last}" segment`;
  return null;
}

function invalid(what: string, value: string, problem: string, operation: string): StorageError {
  return new StorageError("INVALID_KEY", `Invalid storage ${what} ${JSON.stringify(value)}: it ${problem}`, {
    operation,
  });
}

/** Returns the key unchanged, or throws an INVALID_KEY StorageError. */
export function assertValidKey(key: string, operation = "key"): string {
  const problem = keyProblem(key);
  if (problem) throw invalid("key", key, problem, operation);
  return key;
}

/** Returns the prefix unchanged, or throws an INVALID_KEY StorageError. */
export function assertValidPrefix(prefix: string, operation = "list"): string {
  const problem = prefixProblem(prefix);
  if (problem) throw invalid("prefix", prefix, problem, operation);
  return prefix;
}

/** STORAGE_PREFIX as a key prefix: "" or segments ending in "/" ("drive1" and "/drive1/" both give "drive1/"). */
export function normalizePrefix(raw: string): string {
  const trimmed = raw.replace(/^\/+|\/+$/g, "");
  if (trimmed === "") return "";
  const prefix = `${trimmed}/`;
  assertValidPrefix(prefix, "STORAGE_PREFIX");
  return prefix;
}

let cachedPrefix: { raw: string; normalized: string } | undefined;

/** The configured STORAGE_PREFIX, normalised (validated once). */
export function storagePrefix(): string {
  if (cachedPrefix?.raw !== env.STORAGE_PREFIX) {
    cachedPrefix = { raw: env.STORAGE_PREFIX, normalized: normalizePrefix(env.STORAGE_PREFIX) };
  }
  return cachedPrefix.normalized;
}

/** STORAGE_PREFIX + the segments joined with "/", validated. */
export function joinKey(...segments: string[]): string {
  return assertValidKey(storagePrefix() + segments.join("/"), "joinKey");
}

const SHA256_HEX = /^[0-9a-f]{64}$/;
const UPLOAD_ID = /^[A-Za-z0-9_-]{1,128}$/;

/** Where the content-addressed blob with this SHA-256 lives: `blobs/ab/cd/<sha256>`. */
export function blobKey(sha256: string): string {
  if (!SHA256_HEX.test(sha256)) {
    throw invalid("blob digest", sha256, "is not 64 lowercase hex digits", "blobKey");
  }
  return joinKey("blobs", sha256.slice(0, 2), sha256.slice(2, 4), sha256);
}

/** The prefix every blob key starts with (for listing and garbage collection). */
export function blobsPrefix(): string {
  return `${storagePrefix()}blobs/`;
}

/** Where an upload session's bytes are staged before they are verified: `staging/<uploadId>`. */
export function stagingKey(uploadId: string): string {
  if (!UPLOAD_ID.test(uploadId)) {
    throw invalid("upload id", uploadId, "is not 1-128 characters of [A-Za-z0-9_-]", "stagingKey");
  }
  return joinKey("staging", uploadId);
}

/** The prefix every staging key starts with (for sweeping abandoned uploads). */
export function stagingPrefix(): string {
  return `${storagePrefix()}staging/`;
}
