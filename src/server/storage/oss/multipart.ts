import type OSS from "ali-oss";
import type { Readable } from "node:stream";
import { copyRangesAsParts } from "../copy-ranges";
import { missingUploadOr } from "../errors";
import { assertValidKey } from "../keys";
import { paged } from "../paging";
import { assertPartNumber, assertSize, exactBody, sortedParts, unquote } from "../streams";
import type { MultipartCreateOptions, PartInfo, PutResult, StorageDriver, WriteChecks } from "../types";
import { isMissingUpload, ossError } from "./errors";
import type { OssContext } from "./client";

export const OSS_MAX_PARTS = 10_000;
export const OSS_MIN_PART_BYTES = 100 * 1024;
export const OSS_MAX_PART_BYTES = 5 * 1024 ** 3;
const DRIVER = "oss" as const;

interface RawResponse {
  headers?: Record<string, string | undefined>;
  data?: unknown;
}

/** The ETag of an UploadPartCopy: from the ETag header, or from <CopyPartResult><ETag> in the body. */
function copyPartEtag(res: RawResponse): string {
  const header = res.headers?.etag;
  if (header) return unquote(header);
  const body = Buffer.isBuffer(res.data) ? res.data.toString("utf8") : typeof res.data === "string" ? res.data : "";
  const match = /<ETag>([^<]*)<\/ETag>/.exec(body);
  const etag = unquote(match?.[1]?.replace(/&quot;/g, '"'));
  if (!etag) throw new Error("UploadPartCopy answered without an ETag");
  return etag;
}

export async function headAfterWrite(oss: OssContext, key: string, operation: string): Promise<PutResult> {
  try {
    const out = await oss.client.head(key, { timeout: oss.timeoutMs });
    const headers = out.res.headers as Record<string, string | undefined>;
    return { size: Number(headers["content-length"] ?? 0), etag: unquote(headers.etag) };
  } catch (e) {
    throw ossError(e, operation, key);
  }
}

export function createOssMultipart(oss: OssContext): StorageDriver["multipart"] {
  const { client } = oss;

  async function create(key: string, options: MultipartCreateOptions = {}): Promise<{ uploadId: string }> {
    assertValidKey(key, "multipart.create");
    try {
      const out = await client.initMultipartUpload(key, { mime: options.contentType, timeout: oss.timeoutMs });
      if (!out.uploadId) throw new Error("InitiateMultipartUpload returned no UploadId");
      return { uploadId: out.uploadId };
    } catch (e) {
      throw ossError(e, "multipart.create", key);
    }
  }

  async function uploadPart(key: string, uploadId: string, partNumber: number, body: Readable, size: number, checks: WriteChecks = {}): Promise<{ etag: string }> {
    assertValidKey(key, "multipart.uploadPart");
    assertPartNumber(partNumber, OSS_MAX_PARTS, { driver: DRIVER, key });
    assertSize(size, { driver: DRIVER, operation: "uploadPart", key });
    const guarded = exactBody(body, size, { driver: DRIVER, operation: "uploadPart", key });
    try {
      // ali-oss streams a Readable `file` as is; (start, end) only give the Content-Length.
      const headers = checks.contentMd5 ? { "Content-MD5": checks.contentMd5 } : undefined;
      const out = await client.uploadPart(key, uploadId, partNumber, guarded.stream, 0, size, { timeout: oss.transferTimeoutMs, headers } as OSS.RequestOptions);
      return { etag: unquote(out.etag) };
    } catch (e) {
      body.destroy();
      const error = ossError(guarded.failure() ?? e, "uploadPart", key);
      // An unknown upload id can be answered before the body is read, with the connection closed, so
      // the 404 surfaces as a reset: ask whether the upload still exists before calling it an outage.
      throw await missingUploadOr(error, { driver: DRIVER, operation: "uploadPart", key, uploadId }, () => listParts(key, uploadId));
    }
  }

  async function complete(key: string, uploadId: string, parts: Array<{ partNumber: number; etag: string }>): Promise<PutResult> {
    assertValidKey(key, "multipart.complete");
    const sorted = sortedParts(parts, OSS_MAX_PARTS, { driver: DRIVER, key });
    try {
      await client.completeMultipartUpload(
        key,
        uploadId,
        sorted.map((p) => ({ number: p.partNumber, etag: `"${unquote(p.etag)}"` })),
        { timeout: oss.transferTimeoutMs },
      );
    } catch (e) {
      // RGW (behind the gateway) answers a complete of an aborted upload with 500 InternalError.
      throw await missingUploadOr(ossError(e, "complete", key), { driver: DRIVER, operation: "complete", key, uploadId }, () => listParts(key, uploadId));
    }
    // The complete response's ETag is not reliable on every backend (RGW answers it empty): HEAD it.
    return headAfterWrite(oss, key, "complete");
  }

  async function abort(key: string, uploadId: string): Promise<void> {
    assertValidKey(key, "multipart.abort");
    try {
      await client.abortMultipartUpload(key, uploadId, { timeout: oss.timeoutMs });
    } catch (e) {
      if (isMissingUpload(e)) return;
      throw ossError(e, "abort", key);
    }
  }

  async function listParts(key: string, uploadId: string): Promise<PartInfo[] | null> {
    assertValidKey(key, "multipart.listParts");
    const parts: PartInfo[] = [];
    const pages = paged(async (marker: number | undefined) => {
      const query = { "max-parts": 1000, ...(marker === undefined ? {} : { "part-number-marker": marker }) } as OSS.ListPartsQuery;
      const page = await client.listParts(key, uploadId, query, { timeout: oss.timeoutMs });
      // ali-oss passes the parsed XML through: a lone <Part> is an object, not an array, and the paging fields are strings.
      const raw = page.parts as unknown;
      const list = (Array.isArray(raw) ? raw : raw ? [raw] : []) as Array<Record<string, string>>;
      const items = list.map((p): PartInfo => ({ partNumber: Number(p.PartNumber), etag: unquote(p.ETag), size: Number(p.Size) }));
      const truncated = String(page.isTruncated) === "true";
      const next = Number(page.nextPartNumberMarker);
      return { items, next: truncated && Number.isSafeInteger(next) && next !== marker ? next : undefined };
    });
    try {
      for await (const part of pages) parts.push(part);
    } catch (e) {
      if (isMissingUpload(e)) return null;
      throw ossError(e, "listParts", key);
    }
    return parts.sort((a, b) => a.partNumber - b.partNumber);
  }

  return { create, uploadPart, complete, abort, listParts };
}

/** A server-side copy of an object above OSS's 1 GB CopyObject limit: UploadPartCopy ranges. */
export function copyInParts(oss: OssContext, sourceKey: string, targetKey: string, size: number, partBytes: number, contentType?: string): Promise<PutResult> {
  return copyRangesAsParts(createOssMultipart(oss), {
    targetKey,
    size,
    contentType,
    partBytes,
    maxParts: OSS_MAX_PARTS,
    copyPart: async (uploadId, partNumber, start, end) => {
      const out = await oss.client.uploadPartCopy(
        targetKey,
        uploadId,
        partNumber,
        `${start}-${end}`,
        { sourceKey, sourceBucketName: oss.bucket },
        { timeout: oss.transferTimeoutMs },
      );
      return copyPartEtag(out.res as RawResponse);
    },
    wrapError: (e) => ossError(e, "copy", sourceKey),
  });
}
