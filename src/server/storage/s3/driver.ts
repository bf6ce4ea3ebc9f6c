import {
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { Readable } from "node:stream";
import { contentDisposition } from "~/server/http/content-disposition";
import { StorageError } from "../errors";
import { assertValidKey, assertValidPrefix } from "../keys";
import { paged } from "../paging";
import { assertValidRange, rangeHeader, rangeNotSatisfiable } from "../range";
import { putInParts } from "../parts-upload";
import { assertSize, exactBody, unquote } from "../streams";
import type { ByteRange, ObjectHead, ObjectListing, PresignOptions, PutResult, StorageDriver, WriteChecks } from "../types";
import { createS3Client, type S3DriverConfig } from "./client";
import { isMissingObject, s3ErrorName, s3Status, s3Error } from "./errors";
import {
  S3_MAX_PARTS,
  S3_MAX_PART_BYTES,
  S3_MIN_PART_BYTES,
  copyInParts,
  copySource,
  createS3Multipart,
  type S3Context,
} from "./multipart";

// Any S3 API: AWS, Ceph RGW (tested against RGW 16.2 in tests/integration/storage-contract.test.ts),
// MinIO... Objects stay private; downloads go through the drive or a presigned GET.

export type { S3DriverConfig } from "./client";

const DRIVER = "s3" as const;

/** A Content-MD5 covers one request's body: a put split into parts cannot carry it. */
function digestNeedsSize(key: string): StorageError {
  return new StorageError("INVALID_ARGUMENT", `s3 storage: put ${JSON.stringify(key)}: contentMd5 needs a size that fits one PutObject`, {
    driver: DRIVER,
    operation: "put",
  });
}
const GIB = 1024 ** 3;
const MAX_PRESIGN_SECONDS = 7 * 24 * 3600;

export function createS3Driver(config: S3DriverConfig): StorageDriver {
  const client = createS3Client(config);
  const { bucket } = config;
  const s3: S3Context = { client, bucket };
  const partBytes = config.partBytes ?? 16 * 1024 * 1024;
  const partConcurrency = config.partConcurrency ?? 2;
  const singlePutMaxBytes = Math.min(config.singlePutMaxBytes ?? 5 * GIB, 5 * GIB);
  const singleCopyMaxBytes = Math.min(config.singleCopyMaxBytes ?? 5 * GIB, 5 * GIB);
  const copyPartBytes = config.copyPartBytes ?? GIB;
  const multipart = createS3Multipart(s3);

  async function putObject(
    key: string,
    body: Readable | Buffer,
    size: number,
    contentType?: string,
    abortSignal?: AbortSignal,
    checks: WriteChecks = {},
  ): Promise<PutResult> {
    const out = await client.send(
      new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentLength: size, ContentType: contentType, ContentMD5: checks.contentMd5 }),
      { abortSignal },
    );
    return { size, etag: unquote(out.ETag) };
  }

  async function put(key: string, body: Readable, options: { contentType?: string; size?: number } & WriteChecks = {}): Promise<PutResult> {
    assertValidKey(key, "put");
    const { size, contentType, contentMd5 } = options;
    if (size !== undefined) assertSize(size, { driver: DRIVER, operation: "put", key });
    if (size !== undefined && size <= singlePutMaxBytes) {
      // One streamed PutObject: S3 stores it atomically, and the guard aborts the request on a size mismatch.
      const guarded = exactBody(body, size, { driver: DRIVER, operation: "put", key });
      try {
        return await putObject(key, guarded.stream, size, contentType, guarded.signal, { contentMd5 });
      } catch (e) {
        body.destroy();
        throw s3Error(guarded.failure() ?? e, "put", key);
      }
    }
    if (contentMd5 !== undefined) throw digestNeedsSize(key);
    return putInParts(multipart, key, body, {
      driver: DRIVER,
      contentType,
      size,
      partBytes,
      concurrency: partConcurrency,
      maxParts: S3_MAX_PARTS,
      putSmall: (data) =>
        putObject(key, data, data.length, contentType).catch((e: unknown) => {
          throw s3Error(e, "put", key);
        }),
    });
  }

  async function get(key: string, range?: ByteRange): Promise<Readable | null> {
    assertValidKey(key, "get");
    if (range) assertValidRange(range, { driver: DRIVER, key });
    try {
      const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: range ? rangeHeader(range) : undefined }));
      if (!(out.Body instanceof Readable)) throw new Error("GetObject returned no Node.js stream body");
      return out.Body;
    } catch (e) {
      if (isMissingObject(e)) return null;
      if (range && s3ErrorName(e) === "InvalidRange") throw rangeNotSatisfiable({ driver: DRIVER, key }, range, e);
      throw s3Error(e, "get", key);
    }
  }

  async function head(key: string): Promise<ObjectHead | null> {
    assertValidKey(key, "head");
    try {
      const out = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return {
        size: out.ContentLength ?? 0,
        etag: unquote(out.ETag),
        lastModified: out.LastModified ?? new Date(0),
        contentType: out.ContentType,
      };
    } catch (e) {
      if (isMissingObject(e)) return null;
      throw s3Error(e, "head", key);
    }
  }

  async function remove(key: string): Promise<void> {
    assertValidKey(key, "delete");
    try {
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    } catch (e) {
      if (isMissingObject(e)) return;
      throw s3Error(e, "delete", key);
    }
  }

  async function* list(prefix: string): AsyncGenerator<ObjectListing> {
    assertValidPrefix(prefix);
    yield* paged(async (token: string | undefined) => {
      let page;
      try {
        page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix || undefined, ContinuationToken: token }));
      } catch (e) {
        throw s3Error(e, "list", prefix);
      }
      const items: ObjectListing[] = [];
      for (const item of page.Contents ?? []) {
        if (item.Key !== undefined) items.push({ key: item.Key, size: item.Size ?? 0 });
      }
      return { items, next: (page.IsTruncated && page.NextContinuationToken) || undefined };
    });
  }

  async function copy(sourceKey: string, targetKey: string): Promise<PutResult | null> {
    assertValidKey(sourceKey, "copy");
    assertValidKey(targetKey, "copy");
    const source = await head(sourceKey);
    if (!source) return null;
    if (source.size > singleCopyMaxBytes) {
      return copyInParts(s3, sourceKey, targetKey, source.size, copyPartBytes, source.contentType);
    }
    try {
      const out = await client.send(
        new CopyObjectCommand({ Bucket: bucket, Key: targetKey, CopySource: copySource(bucket, sourceKey), MetadataDirective: "COPY" }),
      );
      return { size: source.size, etag: unquote(out.CopyObjectResult?.ETag) };
    } catch (e) {
      if (isMissingObject(e)) return null; // deleted between head and copy
      throw s3Error(e, "copy", sourceKey);
    }
  }

  async function presignGet(key: string, options: PresignOptions): Promise<string | null> {
    assertValidKey(key, "presignGet");
    const expiresIn = Math.floor(options.expiresInSeconds);
    if (!(expiresIn >= 1 && expiresIn <= MAX_PRESIGN_SECONDS)) {
      throw new StorageError("INVALID_ARGUMENT", `s3 storage: presign expiry must be 1..${MAX_PRESIGN_SECONDS} s (SigV4 limit)`, {
        driver: DRIVER,
        operation: "presignGet",
      });
    }
    try {
      const command = new GetObjectCommand({
        Bucket: bucket,
        Key: key,
        ResponseContentDisposition: options.downloadName === undefined ? undefined : contentDisposition(options.downloadName),
        ResponseContentType: options.contentType,
      });
      return await getSignedUrl(client, command, { expiresIn });
    } catch (e) {
      throw s3Error(e, "presignGet", key);
    }
  }

  async function check(): Promise<void> {
    const where = `bucket ${JSON.stringify(bucket)} at ${config.endpoint ?? `AWS ${config.region}`}`;
    try {
      await client.send(new HeadBucketCommand({ Bucket: bucket }));
      return;
    } catch (e) {
      const missing = s3Status(e) === 404 || s3ErrorName(e) === "NotFound" || s3ErrorName(e) === "NoSuchBucket";
      if (!missing) {
        const wrapped = s3Error(e, "check");
        throw new StorageError(wrapped.code, `s3 storage: cannot use ${where}: ${wrapped.message}`, { driver: DRIVER, operation: "check", cause: e });
      }
      if (!config.createBucket) {
        throw new StorageError("PROVIDER", `s3 storage: ${where} does not exist (create it, or set S3_CREATE_BUCKET=true)`, {
          driver: DRIVER,
          operation: "check",
          cause: e,
        });
      }
    }
    try {
      await client.send(new CreateBucketCommand({ Bucket: bucket }));
    } catch (e) {
      const name = s3ErrorName(e);
      if (name === "BucketAlreadyOwnedByYou") return;
      const wrapped = s3Error(e, "check");
      throw new StorageError(wrapped.code, `s3 storage: ${where} does not exist and could not be created: ${wrapped.message}`, {
        driver: DRIVER,
        operation: "check",
        cause: e,
      });
    }
  }

  return {
    name: DRIVER,
    capabilities: { multipart: true, presign: true, minPartBytes: S3_MIN_PART_BYTES, maxPartBytes: S3_MAX_PART_BYTES, maxParts: S3_MAX_PARTS },
    put,
    get,
    head,
    delete: remove,
    list,
    copy,
    presignGet,
    multipart,
    check,
  };
}

