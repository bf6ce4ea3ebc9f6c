import { createHmac, timingSafeEqual } from "node:crypto";

// Request signing for the OSS gateway (./oss-gateway.ts), written from the providers' published
// algorithms, not from the SDKs:
// - Aliyun OSS V1 ("Include a V1 signature in the header" / "... in a URL", help.aliyun.com, doc 31951
//   and 31952): Signature = base64(HMAC-SHA1(AccessKeySecret, VERB \n Content-MD5 \n Content-Type \n
//   Date \n CanonicalizedOSSHeaders CanonicalizedResource)), Date replaced by Expires in signed URLs.
// - AWS S3 Signature Version 2 (RestAuthentication), which is what the gateway re-signs with for RGW.
// tests/unit/oss-gateway-signing.test.ts pins both to the published examples.

export type HeaderBag = Record<string, string | string[] | undefined>;

/** A header's value as one string (repeated headers joined by ","), or "" when absent. */
export function headerValue(headers: HeaderBag, name: string): string {
  const wanted = name.toLowerCase();
  for (const [k, v] of Object.entries(headers)) {
    if (k.toLowerCase() !== wanted || v === undefined) continue;
    return Array.isArray(v) ? v.join(",") : v;
  }
  return "";
}

/**
 * Sub-resources that belong to the OSS CanonicalizedResource (the list in Aliyun's V1 signature
 * docs), plus the ones ali-oss signs as sub-resources and OSS therefore must too (versionId,
 * continuation-token, ...). Other query parameters (prefix, max-keys, list-type...) are not signed.
 */
export const OSS_SUB_RESOURCES: ReadonlySet<string> = new Set([
  "acl", "uploads", "location", "cors", "logging", "website", "referer", "lifecycle", "delete", "append",
  "tagging", "objectMeta", "uploadId", "partNumber", "security-token", "position", "img", "style",
  "styleName", "replication", "replicationProgress", "replicationLocation", "cname", "bucketInfo", "comp",
  "qos", "live", "status", "vod", "startTime", "endTime", "symlink", "x-oss-process",
  "response-content-type", "response-content-language", "response-expires", "response-cache-control",
  "response-content-disposition", "response-content-encoding",
  "versioning", "versions", "versionId", "restore", "policy", "requestPayment", "encryption", "inventory",
  "worm", "wormId", "wormExtend", "continuation-token", "x-oss-traffic-limit", "callback", "callback-var",
]);

/** Query parameters of a raw query string, decoded per RFC 3986 ("+" stays "+"). A key without "=" has value null. */
export function parseQuery(rawQuery: string): Array<[string, string | null]> {
  if (!rawQuery) return [];
  return rawQuery
    .split("&")
    .filter((pair) => pair !== "")
    .map((pair) => {
      const eq = pair.indexOf("=");
      const decode = (s: string) => decodeURIComponent(s);
      return eq === -1 ? [decode(pair), null] : [decode(pair.slice(0, eq)), decode(pair.slice(eq + 1))];
    });
}

/** CanonicalizedOSSHeaders: every x-oss-* header, lowercased, sorted, "name:value\n", values trimmed. */
export function canonicalizedOssHeaders(headers: HeaderBag): string {
  const oss = new Map<string, string>();
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (!lower.startsWith("x-oss-") || value === undefined) continue;
    const joined = Array.isArray(value) ? value.map((v) => v.trim()).join(",") : value.trim();
    oss.set(lower, oss.has(lower) ? `${oss.get(lower)},${joined}` : joined);
  }
  return [...oss.keys()]
    .sort()
    .map((k) => `${k}:${oss.get(k)}\n`)
    .join("");
}

/**
 * CanonicalizedResource: "/bucket/key" with the key as stored (not URL-encoded), "/bucket/" for a
 * bucket, "/" for the service; then "?" and the sub-resources sorted by name, "name" or "name=value".
 */
export function canonicalizedResource(bucket: string | undefined, key: string | undefined, query: Array<[string, string | null]>): string {
  let resource = bucket ? `/${bucket}/${key ?? ""}` : "/";
  const subs = query.filter(([name]) => OSS_SUB_RESOURCES.has(name)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (subs.length > 0) {
    resource += `?${subs.map(([name, value]) => (value === null || value === "" ? name : `${name}=${value}`)).join("&")}`;
  }
  return resource;
}

export interface OssStringToSignParts {
  verb: string;
  contentMd5: string;
  contentType: string;
  /** The Date (or x-oss-date) header; for signed URLs the Expires parameter. */
  date: string;
  canonicalizedOssHeaders: string;
  canonicalizedResource: string;
}

export function ossStringToSign(p: OssStringToSignParts): string {
  return `${p.verb}\n${p.contentMd5}\n${p.contentType}\n${p.date}\n${p.canonicalizedOssHeaders}${p.canonicalizedResource}`;
}

/** base64(HMAC-SHA1(secret, UTF-8 string-to-sign)): OSS V1 and S3 SigV2 alike. */
export function hmacSha1Base64(secret: string, stringToSign: string): string {
  return createHmac("sha1", secret).update(stringToSign, "utf8").digest("base64");
}

export function signaturesEqual(expected: string, provided: string): boolean {
  const a = Buffer.from(expected);
  const b = Buffer.from(provided);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The S3 SigV2 sub-resources (AWS RestAuthentication) that go into its CanonicalizedResource. */
const S3_V2_SUB_RESOURCES: ReadonlySet<string> = new Set([
  "acl", "cors", "delete", "lifecycle", "location", "logging", "notification", "partNumber", "policy",
  "requestPayment", "restore", "tagging", "torrent", "uploadId", "uploads", "versionId", "versioning",
  "versions", "website",
  "response-cache-control", "response-content-disposition", "response-content-encoding",
  "response-content-language", "response-content-type", "response-expires",
]);

/**
 * S3 SigV2 string-to-sign for a request to `encodedPath` (the path exactly as sent) with the given
 * (decoded) query and headers. The date goes in the Date header.
 */
export function s3V2StringToSign(verb: string, encodedPath: string, query: Array<[string, string | null]>, headers: HeaderBag): string {
  const amz = new Map<string, string>();
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (!lower.startsWith("x-amz-") || value === undefined) continue;
    const joined = Array.isArray(value) ? value.join(",") : value;
    amz.set(lower, amz.has(lower) ? `${amz.get(lower)},${joined.trim()}` : joined.trim());
  }
  const canonicalAmz = [...amz.keys()]
    .sort()
    .map((k) => `${k}:${amz.get(k)}\n`)
    .join("");
  const subs = query.filter(([name]) => S3_V2_SUB_RESOURCES.has(name)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const resource = subs.length === 0 ? encodedPath : `${encodedPath}?${subs.map(([n, v]) => (v === null || v === "" ? n : `${n}=${v}`)).join("&")}`;
  return [verb, headerValue(headers, "content-md5"), headerValue(headers, "content-type"), headerValue(headers, "date"), `${canonicalAmz}${resource}`].join("\n");
}
