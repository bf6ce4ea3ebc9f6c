import { defineUploadSuite } from "../helpers/upload-suite";

// Chunked uploads and 秒传 against the local disk driver (the run's temp storage directory).
defineUploadSuite("local");
