// The typed filestore client for scripts. See README.md "Scripts" for an example.
export { FilestoreClient, normalizeUrl, type ClientOptions, type Credentials, type Entry, type RouterInputs, type RouterOutputs } from "./client";
export { FilestoreError, type ClientErrorCode } from "./errors";
export { memoryTokenStore, TokenKeeper, type TokenPair, type TokenStore } from "./tokens";
export { DrivePaths, joinPath, splitPath, ROOT, type Node, type RootFolder } from "./paths";
export {
  uploadFile,
  DEFAULT_CHUNK_BYTES,
  DEFAULT_PARALLEL,
  INSTANT_MIN_BYTES,
  type UploadFileOptions,
  type UploadProgress,
  type UploadResult,
  type UploadSessionInfo,
} from "./upload";
export { downloadFile, partPath, type DownloadFileOptions, type DownloadProgress, type DownloadResult } from "./download";
export { sha256File, proofFor, contentDigest } from "./hash";
export { Limiter } from "./limiter";
