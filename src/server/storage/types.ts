import type { Readable } from "node:stream";

// The storage driver contract (modelled on flydrive and tus-node-server's stores). Drivers never see
// HTTP and the HTTP layer never sees a driver's SDK. Keys are built and validated by ./keys.ts only.

export type DriverName = "local" | "s3" | "oss";

export interface PutResult {
  size: number;
  /** Provider etag without quotes ("" when a provider does not report one). */
  etag: string;
}

export interface ObjectHead {
  size: number;
  etag: string;
  lastModified: Date;
  contentType?: string;
}

/** Inclusive byte range, like HTTP `Range: bytes=start-end`. `end` omitted = to the end. */
export interface ByteRange {
  start: number;
  end?: number;
}

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
  /** Sets the response Content-Disposition so the browser saves under this name. */
  downloadName?: string;
  contentType?: string;
}

export interface DriverCapabilities {
  multipart: boolean;
  presign: boolean;
  /** Smallest part size the backend accepts for every part but the last (S3/OSS: 5 MiB? OSS 100 KiB). */
  minPartBytes: number;
  maxParts: number;
}

export interface StorageDriver {
  readonly name: DriverName;
  readonly capabilities: DriverCapabilities;

  /** Streams `body` to `key`; the object is visible only once complete (never half-written). */
  put(key: string, body: Readable, options?: { contentType?: string; size?: number }): Promise<PutResult>;
  /** A stream of the object (or of a byte range of it); null when the object does not exist. */
  get(key: string, range?: ByteRange): Promise<Readable | null>;
  head(key: string): Promise<ObjectHead | null>;
  /** Idempotent: deleting a missing key is not an error. */
  delete(key: string): Promise<void>;
  list(prefix: string): AsyncIterable<ObjectListing>;
  copy(sourceKey: string, targetKey: string): Promise<void>;
  /** A time-limited URL that GETs the object without credentials, or null where unsupported. */
  presignGet(key: string, options: PresignOptions): Promise<string | null>;

  multipart: {
    create(key: string, options?: { contentType?: string }): Promise<{ uploadId: string }>;
    uploadPart(key: string, uploadId: string, partNumber: number, body: Readable, size: number): Promise<{ etag: string }>;
    /** Assembles the parts in partNumber order without copying bytes through this process. */
    complete(key: string, uploadId: string, parts: Array<{ partNumber: number; etag: string }>): Promise<PutResult>;
    /** Idempotent: aborting an unknown or already finished upload is not an error. */
    abort(key: string, uploadId: string): Promise<void>;
    listParts(key: string, uploadId: string): Promise<PartInfo[] | null>;
  };

  /** Checks the backend is reachable and usable (bucket exists, directory writable). */
  check(): Promise<void>;
}
