import { useCephS3 } from "../helpers/use-ceph-s3";

// The same chunked-upload and 秒传 suite against the s3 driver on a real Ceph RGW. Chunks then go
// straight into an S3 multipart upload, 5 MiB minimum part size.
useCephS3("test-uploads");

const { defineUploadSuite } = await import("../helpers/upload-suite");
defineUploadSuite("s3 on Ceph RGW");
