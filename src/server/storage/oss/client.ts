import OSS from "ali-oss";

export interface OssDriverConfig {
  /** e.g. oss-cn-hangzhou; used when no endpoint is given. */
  region?: string;
  /** e.g. https://oss-cn-hangzhou.aliyuncs.com, or a local gateway; takes priority over region. */
  endpoint?: string;
  bucket: string;
  accessKeyId: string;
  accessKeySecret: string;
  /** Path-style (second-level-domain) addressing: http://endpoint/bucket/key. Needed for localhost endpoints. */
  pathStyle: boolean;
  /** Limit for metadata requests (head, list, create, complete...). Default 60 s. */
  timeoutMs?: number;
  /** Limit for requests that carry object bytes (put, uploadPart, copy). Default 1 h. */
  transferTimeoutMs?: number;
  /** Part size for puts of unknown size (or above 5 GiB), also the memory bound per part. Default 16 MiB. */
  partBytes?: number;
  /** Parts uploaded at once by such puts. Default 2. */
  partConcurrency?: number;
  /** Puts with a known size up to this go as one streamed PutObject. Default 5 GiB (the OSS limit). */
  singlePutMaxBytes?: number;
  /** Copies up to this are one CopyObject; bigger ones UploadPartCopy. Default 1 GiB (OSS's CopyObject limit). */
  singleCopyMaxBytes?: number;
  /** Part size of a multipart copy. Default 512 MiB. */
  copyPartBytes?: number;
}

export interface OssContext {
  client: OSS;
  bucket: string;
  timeoutMs: number;
  transferTimeoutMs: number;
}

export function createOssClient(config: OssDriverConfig): OssContext {
  if (!config.endpoint && !config.region) throw new Error("set OSS_ENDPOINT or OSS_REGION");
  const endpoint = config.endpoint;
  const client = new OSS({
    region: config.region,
    endpoint,
    secure: endpoint ? endpoint.startsWith("https:") : true,
    bucket: config.bucket,
    accessKeyId: config.accessKeyId,
    accessKeySecret: config.accessKeySecret,
    timeout: config.timeoutMs ?? 60_000,
    ...(config.pathStyle ? { sldEnable: true } : {}),
  } as OSS.Options);
  return {
    client,
    bucket: config.bucket,
    timeoutMs: config.timeoutMs ?? 60_000,
    transferTimeoutMs: config.transferTimeoutMs ?? 3_600_000,
  };
}
