import { S3Client } from "@aws-sdk/client-s3";

export interface S3DriverConfig {
  /** e.g. http://127.0.0.1:7480 for Ceph RGW; omit for AWS (region endpoint). */
  endpoint?: string;
  region: string;
  bucket: string;
  /** Omit both to use the SDK's default credential chain (instance roles, AWS_* variables, ...). */
  accessKeyId?: string;
  secretAccessKey?: string;
  /** http://endpoint/bucket/key instead of http://bucket.endpoint/key (Ceph, MinIO, IP endpoints). */
  forcePathStyle: boolean;
  /** check() creates the bucket when it does not exist. */
  createBucket: boolean;
  /** Part size for puts of unknown (or above singlePutMaxBytes) size; also the memory bound per part. Default 16 MiB. */
  partBytes?: number;
  /** Parts uploaded at once by such puts (memory: (partConcurrency + 1) * partBytes). Default 2. */
  partConcurrency?: number;
  /** Puts with a known size up to this go as one streamed PutObject. Default 5 GiB (the S3 limit). */
  singlePutMaxBytes?: number;
  /** Copies up to this are one CopyObject; bigger ones are a multipart UploadPartCopy. Default 5 GiB (the S3 limit). */
  singleCopyMaxBytes?: number;
  /** Part size of a multipart copy. Default 1 GiB. */
  copyPartBytes?: number;
}

export function createS3Client(config: S3DriverConfig): S3Client {
  const credentials =
    config.accessKeyId && config.secretAccessKey
      ? { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey }
      : undefined;
  return new S3Client({
    endpoint: config.endpoint,
    region: config.region,
    forcePathStyle: config.forcePathStyle,
    credentials,
    // Ceph RGW 16 rejects the aws-chunked + trailing CRC32 bodies the SDK sends by default for stream
    // uploads (411 MissingContentLength). WHEN_REQUIRED sends plain bodies, which every S3 accepts.
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    requestHandler: {
      connectionTimeout: 5_000,
      // Idle socket limit, not a limit on the whole (possibly multi-GB) transfer.
      socketTimeout: 120_000,
      httpAgent: { keepAlive: true, maxSockets: 64 },
      httpsAgent: { keepAlive: true, maxSockets: 64 },
    },
  });
}
