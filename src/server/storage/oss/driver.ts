import type OSS from "ali-oss";
import type { Readable } from "node:stream";
import { contentDisposition } from "~/server/http/content-disposition";
import { StorageError } from "../errors";
import { assertValidKey, assertValidPrefix } from "../keys";
import { paged } from "../paging";
import { putInParts } from "../parts-upload";
import { assertValidRange, rangeHeader, rangeNotSatisfiable } from "../range";
import { assertSize, exactBody, unquote } from "../streams";
import type { ByteRange, ObjectHead, ObjectListing, PresignOptions, PutResult, StorageDriver, WriteChecks } from "../types";
import { createOssClient, type OssContext, type OssDriverConfig } from "./client";
import { isMissingObject, ossCode, ossError, ossStatus } from "./errors";
import { OSS_MAX_PARTS, OSS_MAX_PART_BYTES, OSS_MIN_PART_BYTES, copyInParts, createOssMultipart, headAfterWrite } from "./multipart";

// Aliyun OSS through ali-oss. Tested in this repo through tests/helpers/oss-gateway.ts (an OSS V1
// signature-verifying front door over a real Ceph RGW), which proves our use of ali-oss and its
// request signing, but not fidelity to Aliyun's servers: OSS_LIVE=1 runs the same suite against OSS.

export type { OssDriverConfig } from "./client";

const DRIVER = "oss" as const;
const GIB = 1024 ** 3;
const MAX_PRESIGN_SECONDS = 7 * 24 * 3600;

type Headers = Record<string, string | undefined>;

export function createOssDriver(config: OssDriverConfig): StorageDriver {
  const oss: OssContext = createOssClient(config);
  const { client } = oss;
  const partBytes = config.partBytes ?? 16 * 1024 * 1024;
  const partConcurrency = config.partConcurrency ?? 2;
  const singlePutMaxBytes = Math.min(config.singlePutMaxBytes ?? 5 * GIB, 5 * GIB);
  const singleCopyMaxBytes = Math.min(config.singleCopyMaxBytes ?? GIB, GIB);
  const copyPartBytes = config.copyPartBytes ?? 512 * 1024 * 1024;
  const multipart = createOssMultipart(oss);

  async function putBuffer(key: string, data: Buffer, contentType?: string, checks: WriteChecks = {}): Promise<PutResult> {
    try {
      const headers = checks.contentMd5 ? { "Content-MD5": checks.contentMd5 } : undefined;
      const out = await client.put(key, data, { mime: contentType, timeout: oss.transferTimeoutMs, headers });
      return { size: data.length, etag: unquote((out.res.headers as Headers).etag) };
    } catch (e) {
      throw ossError(e, "put", key);
    }
  }

  async function put(key: string, body: Readable, options: { contentType?: string; size?: number } & WriteChecks = {}): Promise<PutResult> {
    assertValidKey(key, "put");
    const { size, contentType, contentMd5 } = options;
    if (size !== undefined) assertSize(size, { driver: DRIVER, operation: "put", key });
    if (size !== undefined && size > 0 && size <= singlePutMaxBytes) {
      const guarded = exactBody(body, size, { driver: DRIVER, operation: "put", key });
      try {
        const out = await client.putStream(key, guarded.stream, {
          contentLength: size,
          mime: contentType,
          timeout: oss.transferTimeoutMs,
          ...(contentMd5 ? { headers: { "Content-MD5": contentMd5 } } : {}),
        } as OSS.PutStreamOptions);
        return { size, etag: unquote((out.res.headers as Headers).etag) };
      } catch (e) {
        body.destroy();
        throw ossError(guarded.failure() ?? e, "put", key);
      }
    }
    // Unknown size, an empty body (ali-oss would send a 0 length as chunked), or beyond one PutObject.
    if (contentMd5 !== undefined) {
      if (size !== 0) {
        throw new StorageError("INVALID_ARGUMENT", `oss storage: put ${JSON.stringify(key)}: contentMd5 needs a size that fits one PutObject`, {
          driver: DRIVER,
          operation: "put",
        });
      }
      for await (const chunk of body) if ((chunk as Buffer).length) throw new StorageError("INVALID_ARGUMENT", `oss storage: put ${JSON.stringify(key)}: body has more than the declared 0 bytes`, { driver: DRIVER, operation: "put" });
      return putBuffer(key, Buffer.alloc(0), contentType, { contentMd5 });
    }
    return putInParts(multipart, key, body, {
      driver: DRIVER,
      contentType,
      size,
      partBytes,
      concurrency: partConcurrency,
      maxParts: OSS_MAX_PARTS,
      putSmall: (data) => putBuffer(key, data, contentType),
    });
  }

  async function get(key: string, range?: ByteRange): Promise<Readable | null> {
    assertValidKey(key, "get");
    if (range) assertValidRange(range, { driver: DRIVER, key });
    try {
      // x-oss-range-behavior: standard makes OSS answer 416 for a range past the end, as HTTP (and S3) do,
      // instead of silently sending the whole object with 200.
      const headers = range ? { Range: rangeHeader(range), "x-oss-range-behavior": "standard" } : undefined;
      const out = await client.getStream(key, { headers, timeout: oss.timeoutMs });
      return out.stream as Readable;
    } catch (e) {
      if (isMissingObject(e)) return null;
      if (range && (ossCode(e) === "InvalidRange" || ossStatus(e) === 416)) throw rangeNotSatisfiable({ driver: DRIVER, key }, range, e);
      throw ossError(e, "get", key);
    }
  }

  async function head(key: string): Promise<ObjectHead | null> {
    assertValidKey(key, "head");
    try {
      const out = await client.head(key, { timeout: oss.timeoutMs });
      const headers = out.res.headers as Headers;
      const lastModified = headers["last-modified"];
      return {
        size: Number(headers["content-length"] ?? 0),
        etag: unquote(headers.etag),
        lastModified: lastModified ? new Date(lastModified) : new Date(0),
        contentType: headers["content-type"],
      };
    } catch (e) {
      if (isMissingObject(e)) return null;
      throw ossError(e, "head", key);
    }
  }

  async function remove(key: string): Promise<void> {
    assertValidKey(key, "delete");
    try {
      await client.delete(key, { timeout: oss.timeoutMs });
    } catch (e) {
      if (isMissingObject(e)) return;
      throw ossError(e, "delete", key);
    }
  }

  async function* list(prefix: string): AsyncGenerator<ObjectListing> {
    assertValidPrefix(prefix);
    yield* paged(async (token: string | undefined) => {
      let page;
      try {
        const query: OSS.ListV2ObjectsQuery = { "max-keys": 1000, ...(prefix ? { prefix } : {}), ...(token ? { "continuation-token": token } : {}) };
        page = await client.listV2(query, { timeout: oss.timeoutMs });
      } catch (e) {
        throw ossError(e, "list", prefix);
      }
      const items = (page.objects ?? []).map((item): ObjectListing => ({ key: item.name, size: Number(item.size) }));
      return { items, next: (page.isTruncated && page.nextContinuationToken) || undefined };
    });
  }

  async function copy(sourceKey: string, targetKey: string): Promise<PutResult | null> {
    assertValidKey(sourceKey, "copy");
    assertValidKey(targetKey, "copy");
    const source = await head(sourceKey);
    if (!source) return null;
    if (source.size > singleCopyMaxBytes) {
      return copyInParts(oss, sourceKey, targetKey, source.size, copyPartBytes, source.contentType);
    }
    try {
      await client.copy(targetKey, sourceKey, { timeout: oss.transferTimeoutMs });
    } catch (e) {
      if (isMissingObject(e)) return null; // deleted between head and copy
      throw ossError(e, "copy", sourceKey);
    }
    return headAfterWrite(oss, targetKey, "copy");
  }

  async function presignGet(key: string, options: PresignOptions): Promise<string | null> {
    assertValidKey(key, "presignGet");
    const expires = Math.floor(options.expiresInSeconds);
    if (!(expires >= 1 && expires <= MAX_PRESIGN_SECONDS)) {
      throw new StorageError("INVALID_ARGUMENT", `oss storage: presign expiry must be 1..${MAX_PRESIGN_SECONDS} s`, {
        driver: DRIVER,
        operation: "presignGet",
      });
    }
    const response: OSS.ResponseHeaderType = {};
    if (options.downloadName !== undefined) response["content-disposition"] = contentDisposition(options.downloadName);
    if (options.contentType !== undefined) response["content-type"] = options.contentType;
    try {
      return client.signatureUrl(key, { expires, method: "GET", ...(Object.keys(response).length ? { response } : {}) });
    } catch (e) {
      throw ossError(e, "presignGet", key);
    }
  }

  async function check(): Promise<void> {
    const where = `bucket ${JSON.stringify(config.bucket)} at ${config.endpoint ?? config.region}`;
    try {
      await client.listV2({ "max-keys": 1 }, { timeout: oss.timeoutMs });
    } catch (e) {
      const wrapped = ossError(e, "check");
      const hint = ossCode(e) === "NoSuchBucket" ? " (the bucket does not exist: create it in the OSS console)" : "";
      throw new StorageError(wrapped.code, `oss storage: cannot use ${where}${hint}: ${wrapped.message}`, { driver: DRIVER, operation: "check", cause: e });
    }
  }

  return {
    name: DRIVER,
    capabilities: { multipart: true, presign: true, minPartBytes: OSS_MIN_PART_BYTES, maxPartBytes: OSS_MAX_PART_BYTES, maxParts: OSS_MAX_PARTS },
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
