import type { Readable } from "node:stream";

// The storage driver contract (modelled on flydrive and tus-node-server's stores). Drivers never see
// HTTP and the HTTP layer never sees a driver's SDK. Keys are built and validated by ./keys.ts only;
// every driver re-checks them with assertValidKey, so a bad key is an INVALID_KEY StorageError before
// any I/O. Every provider failure is a StorageError (./errors.ts) with the provider error as `cause`;
// a missing object is a value (null), never an exception.
//
// The one behaviour suite that pins all of this down: tests/integration/storage-contract.test.ts.

export type DriverName = "local" | "s3" | "oss";

export interface PutResult {
  size: number;
  /**
   * Opaque validator without quotes; changes whenever the content is replaced. S3/OSS: the provider's
   * ETag (MD5 for single PUTs, "md5-N" for multipart). local: derived from inode, size and mtime.
   * Equal to what head() reports for the same object.
   */
  etag: string;
}

export interface ObjectHead {
  size: number;
  etag: string;
  lastModified: Date;
  /** As given to put/multipart.create; the local driver does not keep it (always undefined). */
  contentType?: string;
}

/**
 * A byte range of an object, with HTTP `Range: bytes=` semantics:
 * - `{ start }`            bytes start..size-1 (HTTP `start-`)
 * - `{ start, end }`       bytes start..end inclusive; an end past the object is clamped to size-1
 * - `{ suffixLength: n }`  the last n bytes (HTTP `-n`); n larger than the object = the whole object
 * A range that selects no byte of the object (start >= size, any range of an empty object) is a
 * RANGE_NOT_SATISFIABLE StorageError. A malformed range (negative or fractional numbers, end < start,
 * suffixLength < 1) is an INVALID_ARGUMENT StorageError, raised before any I/O. See ./range.ts.
 */
export type ByteRange = { start: number; end?: number } | { suffixLength: number };

export interface ObjectListing {
  key: string;
  size: number;
}

export interface PartInfo {
  /** 1-based, as S3 and OSS number parts. */
  partNumber: number;
  etag: string;
  size: number;
}

export interface PresignOptions {
  expiresInSeconds: number;
  /**
   * Sets the response Content-Disposition (attachment; filename="..."; filename*=UTF-8''...) so the
   * browser saves under this name (./content-disposition.ts).
   */
  downloadName?: string;
  /** Sets the response Content-Type. */
  contentType?: string;
}

export interface DriverCapabilities {
  multipart: boolean;
  /** presignGet returns a URL (true) or always null (false, the local driver). */
  presign: boolean;
  /**
   * Smallest size of every part but the last that complete() accepts. S3 and Ceph RGW: 5 MiB.
   * Aliyun OSS: 100 KiB. local: 1 byte (no limit).
   */
  minPartBytes: number;
  /** Largest size of one part. S3/RGW and OSS: 5 GiB. */
  maxPartBytes: number;
  /** Highest part number. S3/RGW and OSS: 10000. */
  maxParts: number;
}

export interface MultipartCreateOptions {
  contentType?: string;
  /**
   * Optional promise from the caller: every part but the last will have exactly this many bytes.
   * The local driver then writes each part straight into its slot of one preallocated file, and
   * complete() is a rename (no byte is copied); s3/oss ignore it. Parts that break the promise are
   * rejected by uploadPart (bigger than partSize) or make complete() fall back to one assembly copy
   * (a short part in the middle, or a gap in the part numbers).
   */
  partSize?: number;
}

/**
 * An integrity check the backend itself performs on a write: the base64 MD5 of the body (HTTP
 * Content-MD5, RFC 1864). S3, Ceph RGW and OSS compute the MD5 of what they received and refuse the
 * write (BAD_DIGEST, nothing stored) when it differs; the local driver does the same while writing.
 * The async transfer sends it with every part, so each part is verified by the target as it lands.
 */
export interface WriteChecks {
  contentMd5?: string;
}

export interface StorageDriver {
  readonly name: DriverName;
  readonly capabilities: DriverCapabilities;

  /**
   * Streams `body` to `key`; the object is visible only once complete (never half-written).
   * With `size`, a body that delivers a different number of bytes fails with INVALID_ARGUMENT and
   * nothing is stored. Without it the driver streams anyway (s3: multipart in bounded memory).
   * Concurrent puts to one key leave exactly one of the bodies, intact.
   */
  put(key: string, body: Readable, options?: { contentType?: string; size?: number } & WriteChecks): Promise<PutResult>;
  /** A stream of the object (or of a byte range of it); null when the object does not exist. */
  get(key: string, range?: ByteRange): Promise<Readable | null>;
  head(key: string): Promise<ObjectHead | null>;
  /** Idempotent: deleting a missing key is not an error. */
  delete(key: string): Promise<void>;
  /** Every object whose key starts with `prefix` (plain string prefix, not a "directory"), each once, in no particular order. */
  list(prefix: string): AsyncIterable<ObjectListing>;
  /** Server-side copy (no byte passes through this process); null when the source does not exist. */
  copy(sourceKey: string, targetKey: string): Promise<PutResult | null>;
  /**
   * local only: the object's file as a '/'-separated path relative to the driver's root directory,
   * for a web server that sends it itself (nginx X-Accel-Redirect, DOWNLOAD_MODE=accel).
   */
  relativeFilePath?(key: string): string;
  /** A time-limited URL that GETs the object without credentials, or null where unsupported. */
  presignGet(key: string, options: PresignOptions): Promise<string | null>;

  multipart: {
    create(key: string, options?: MultipartCreateOptions): Promise<{ uploadId: string }>;
    /**
     * Stores one part (1 <= partNumber <= maxParts). `size` is the exact byte count of `body`;
     * re-uploading a part number replaces it. Unknown upload: NOT_FOUND. A `contentMd5` the body does
     * not match: BAD_DIGEST, and the part is not stored.
     */
    uploadPart(key: string, uploadId: string, partNumber: number, body: Readable, size: number, checks?: WriteChecks): Promise<{ etag: string }>;
    /**
     * Assembles the listed parts in partNumber order (gaps in the numbering are fine) and ends the
     * upload. s3/oss assemble server-side; local renames the in-place file (partSize mode, no copy) or
     * else writes each part once into the final file (one copy, no second one). List every part you uploaded: Ceph RGW 16
     * rejects a subset with InvalidPart. A wrong etag or a missing or too-small part: INVALID_PART.
     * Unknown upload: NOT_FOUND.
     */
    complete(key: string, uploadId: string, parts: Array<{ partNumber: number; etag: string }>): Promise<PutResult>;
    /** Idempotent: aborting an unknown or already finished upload is not an error. */
    abort(key: string, uploadId: string): Promise<void>;
    /** The parts stored so far, by partNumber; null when the upload does not exist (any more). */
    listParts(key: string, uploadId: string): Promise<PartInfo[] | null>;
    /**
     * The bytes of one stored part (exactly that etag) before the upload completes; null when the
     * upload, the part or that etag is gone. Only where a part can be read back cheaply (local);
     * absent on s3/oss, where a part cannot be read before complete.
     */
    readPart?(key: string, uploadId: string, partNumber: number, etag: string): Promise<Readable | null>;
  };

  /** Checks the backend is reachable and usable (bucket exists, directory writable). */
  check(): Promise<void>;
}
