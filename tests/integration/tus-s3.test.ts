import { useCephS3 } from "../helpers/use-ceph-s3";

// The same tus suite against the s3 driver on a real Ceph RGW: parts of at least 5 MiB, tails as
// their own objects.
useCephS3("test-tus");

const { defineTusSuite } = await import("../helpers/tus-suite");
defineTusSuite("s3 on Ceph RGW");
