import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  ListPartsCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import type { Readable } from "node:stream";
import { copyRangesAsParts } from "../copy-ranges";
import { missingUploadOr } from "../errors";
import { assertValidKey } from "../keys";
import { paged } from "../paging";
import { assertPartNumber, assertSize, exactBody, sortedParts, unquote } from "../streams";
import type { MultipartCreateOptions, PartInfo, PutResult, StorageDriver, WriteChecks } from "../types";
import { isMissingUpload, s3Error } from "./errors";

// Multipart uploads (the contract's own, and the ones put() and copy() use internally for bodies of
// unknown or very large size).

export const S3_MAX_PARTS = 10_000;
export const S3_MIN_PART_BYTES = 5 * 1024 * 1024;
export const S3_MAX_PART_BYTES = 5 * 1024 ** 3;
const DRIVER = "s3" as const;

export interface S3Context {
  client: S3Client;
  bucket: string;
}

/** CopySource of an object in `bucket`: "bucket/key" with the key URL-encoded segment by segment. */
export function copySource(bucket: string, key: string): string {
  return `${bucket}/${key.split("/").map(encodeURIComponent).join("/")}`;
}

export async function headAfterWrite(s3: S3Context, key: string, operation: string): Promise<PutResult> {
  // RGW 16 answers CompleteMultipartUpload with an empty <ETag> (Red Hat BZ 2266579): HEAD gives the real one.
  const head = await s3.client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: key })).catch((e: unknown) => {
    throw s3Error(e, operation, key);
  });
  return { size: head.ContentLength ?? 0, etag: unquote(head.ETag) };
}

export function createS3Multipart(s3: S3Context): StorageDriver["multipart"] {
  const { client, bucket } = s3;

  async function create(key: string, options: MultipartCreateOptions = {}): Promise<{ uploadId: string }> {
    assertValidKey(key, "multipart.create");
    try {
      const out = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ContentType: options.contentType }));
      if (!out.UploadId) throw new Error("CreateMultipartUpload returned no UploadId");
      return { uploadId: out.UploadId };
    } catch (e) {
      throw s3Error(e, "multipart.create", key);
    }
  }

  async function uploadPart(key: string, uploadId: string, partNumber: number, body: Readable, size: number, checks: WriteChecks = {}): Promise<{ etag: string }> {
    assertValidKey(key, "multipart.uploadPart");
    assertPartNumber(partNumber, S3_MAX_PARTS, { driver: DRIVER, key });
    assertSize(size, { driver: DRIVER, operation: "uploadPart", key });
    const guarded = exactBody(body, size, { driver: DRIVER, operation: "uploadPart", key });
    try {
      const out = await client.send(
        new UploadPartCommand({
          Bucket: bucket,
          Key: key,
          UploadId: uploadId,
          PartNumber: partNumber,
          Body: guarded.stream,
          ContentLength: size,
          ContentMD5: checks.contentMd5,
        }),
        { abortSignal: guarded.signal },
      );
      return { etag: unquote(out.ETag) };
    } catch (e) {
      body.destroy();
      const error = s3Error(guarded.failure() ?? e, "uploadPart", key);
      // An unknown upload id can be answered before the body is read, with the connection closed, so
      // the 404 surfaces as a reset: ask whether the upload still exists before calling it an outage.
      throw await missingUploadOr(error, { driver: DRIVER, operation: "uploadPart", key, uploadId }, () => listParts(key, uploadId));
    }
  }

  async function complete(key: string, uploadId: string, parts: Array<{ partNumber: number; etag: string }>): Promise<PutResult> {
    assertValidKey(key, "multipart.complete");
    const sorted = sortedParts(parts, S3_MAX_PARTS, { driver: DRIVER, key });
    try {
      await client.send(
        new CompleteMultipartUploadCommand({
          Bucket: bucket,
          Key: key,
          UploadId: uploadId,
          MultipartUpload: { Parts: sorted.map((p) => ({ PartNumber: p.partNumber, ETag: `"${unquote(p.etag)}"` })) },
        }),
      );
    } catch (e) {
      // RGW 16 answers a complete of an aborted upload with 500 "This multipart completion is already in progress".
      throw await missingUploadOr(s3Error(e, "complete", key), { driver: DRIVER, operation: "complete", key, uploadId }, () => listParts(key, uploadId));
    }
    return headAfterWrite(s3, key, "complete");
  }

  async function abort(key: string, uploadId: string): Promise<void> {
    assertValidKey(key, "multipart.abort");
    try {
      await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId }));
    } catch (e) {
      if (isMissingUpload(e)) return;
      throw s3Error(e, "abort", key);
    }
  }

  async function listParts(key: string, uploadId: string): Promise<PartInfo[] | null> {
    assertValidKey(key, "multipart.listParts");
    const parts: PartInfo[] = [];
    const pages = paged(async (marker: string | undefined) => {
      const page = await client.send(new ListPartsCommand({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumberMarker: marker }));
      const items = (page.Parts ?? []).map((p): PartInfo => ({ partNumber: p.PartNumber ?? 0, etag: unquote(p.ETag), size: p.Size ?? 0 }));
      return { items, next: (page.IsTruncated && page.NextPartNumberMarker) || undefined };
    });
    try {
      for await (const part of pages) parts.push(part);
    } catch (e) {
      if (isMissingUpload(e)) return null;
      throw s3Error(e, "listParts", key);
    }
    return parts.sort((a, b) => a.partNumber - b.partNumber);
  }

  return { create, uploadPart, complete, abort, listParts };
}

/** A server-side copy of an object too big for one CopyObject: UploadPartCopy ranges of `partBytes`. */
export function copyInParts(s3: S3Context, sourceKey: string, targetKey: string, size: number, partBytes: number, contentType?: string): Promise<PutResult> {
  return copyRangesAsParts(createS3Multipart(s3), {
    targetKey,
    size,
    contentType,
    partBytes,
    maxParts: S3_MAX_PARTS,
    copyPart: async (uploadId, partNumber, start, end) => {
      const out = await s3.client.send(
        new UploadPartCopyCommand({
          Bucket: s3.bucket,
          Key: targetKey,
          UploadId: uploadId,
          PartNumber: partNumber,
          CopySource: copySource(s3.bucket, sourceKey),
          CopySourceRange: `bytes=${start}-${end}`,
        }),
      );
      return unquote(out.CopyPartResult?.ETag);
    },
    wrapError: (e) => s3Error(e, "copy", sourceKey),
  });
}
