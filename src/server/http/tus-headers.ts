import { DomainError } from "~/server/errors";
import type { ChecksumAlgorithm } from "~/server/services/uploads/tus/write";

// tus 1.0.0 request headers (https://tus.io/protocols/resumable-upload), parsed and checked here so
// the tus service sees typed values only.

export const TUS_VERSION = "1.0.0";
export const TUS_EXTENSIONS = "creation,creation-with-upload,termination,checksum,expiration";
export const TUS_CHECKSUM_ALGORITHMS = "sha1,sha256";
export const OFFSET_CONTENT_TYPE = "application/offset+octet-stream";

const DIGEST_BYTES: Record<ChecksumAlgorithm, number> = { sha1: 20, sha256: 32 };

/** Every request but OPTIONS must speak 1.0.0: 412 with Tus-Version otherwise. */
export function assertTusResumable(headers: Headers): void {
  const version = headers.get("tus-resumable");
  if (version !== TUS_VERSION) {
    throw new DomainError(
      "PRECONDITION_FAILED",
      version === null ? "Tus-Resumable: 1.0.0 is required" : `Tus version ${JSON.stringify(version)} is not supported (1.0.0 is)`,
      { details: { headers: { "tus-version": TUS_VERSION } } },
    );
  }
}

/** A non-negative integer header (Upload-Length, Upload-Offset); null when absent. */
export function byteCount(headers: Headers, name: string): number | null {
  const raw = headers.get(name);
  if (raw === null) return null;
  const value = raw.trim();
  if (!/^(0|[1-9][0-9]{0,15})$/.test(value) || !Number.isSafeInteger(Number(value))) {
    throw new DomainError("BAD_REQUEST", `${name} must be a non-negative integer`);
  }
  return Number(value);
}

export function requiredByteCount(headers: Headers, name: string): number {
  const value = byteCount(headers, name);
  if (value === null) throw new DomainError("BAD_REQUEST", `${name} is required`);
  return value;
}

function decodeBase64Utf8(value: string, key: string): string {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(value) || value.length % 4 === 1) {
    throw new DomainError("BAD_REQUEST", `Upload-Metadata: the value of ${JSON.stringify(key)} is not base64`);
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(Buffer.from(value, "base64"));
  } catch {
    throw new DomainError("BAD_REQUEST", `Upload-Metadata: the value of ${JSON.stringify(key)} is not UTF-8`);
  }
}

/** `key base64value, key2, …` → { key: value, key2: null }. Keys are unique ASCII without spaces or commas. */
export function parseUploadMetadata(header: string | null): Record<string, string | null> {
  const out: Record<string, string | null> = Object.create(null);
  if (header === null || header.trim() === "") return out;
  for (const pair of header.split(",")) {
    const parts = pair.trim().split(" ");
    const key = parts[0] ?? "";
    if (!/^[\x21-\x7e]+$/.test(key) || parts.length > 2) throw new DomainError("BAD_REQUEST", "Upload-Metadata is malformed");
    if (key in out) throw new DomainError("BAD_REQUEST", `Upload-Metadata has ${JSON.stringify(key)} twice`);
    out[key] = parts.length === 2 ? decodeBase64Utf8(parts[1]!, key) : null;
  }
  return out;
}

/** `Upload-Checksum: <algorithm> <base64 digest>`; an algorithm we do not offer is 400. */
export function parseUploadChecksum(header: string | null): { algorithm: ChecksumAlgorithm; digest: Buffer } | null {
  if (header === null) return null;
  const m = /^\s*([A-Za-z0-9-]+) +([A-Za-z0-9+/]+={0,2})\s*$/.exec(header);
  if (!m) throw new DomainError("BAD_REQUEST", "Upload-Checksum must be `<algorithm> <base64 digest>`");
  const algorithm = m[1]!.toLowerCase();
  if (algorithm !== "sha1" && algorithm !== "sha256") {
    throw new DomainError("BAD_REQUEST", `Checksum algorithm ${JSON.stringify(m[1])} is not supported (${TUS_CHECKSUM_ALGORITHMS})`);
  }
  const digest = Buffer.from(m[2]!, "base64");
  if (digest.length !== DIGEST_BYTES[algorithm]) throw new DomainError("BAD_REQUEST", `Upload-Checksum: a ${algorithm} digest has ${DIGEST_BYTES[algorithm]} bytes`);
  return { algorithm, digest };
}

/** PATCH bodies (and creation-with-upload bodies) are application/offset+octet-stream: 415 otherwise. */
export function isOffsetStream(headers: Headers): boolean {
  return (headers.get("content-type") ?? "").split(";", 1)[0]!.trim().toLowerCase() === OFFSET_CONTENT_TYPE;
}
