// Conditional request headers for downloads (RFC 9110 §13): If-None-Match / If-Modified-Since
// (304) and If-Range (whether a Range applies). Pure functions over header values.
// The strong validator is the ETag `"<sha256>"`: an entry's content never changes (a new upload
// is a new entry), so the digest is exactly "these bytes".

/** The opaque tags of an If-None-Match / If-Match list; "*" stays as is. */
function entityTags(header: string): string[] {
  const tags: string[] = [];
  const re = /\s*(\*|(?:W\/)?"[^"]*")\s*(?:,|$)/gy;
  let m: RegExpExecArray | null;
  while ((m = re.exec(header)) !== null && m[0] !== "") tags.push(m[1]!);
  return tags;
}

/** If-None-Match with the weak comparison (W/ ignored), as RFC 9110 §13.1.2 prescribes. */
export function noneMatchHits(header: string | null, etag: string): boolean {
  if (header === null) return false;
  return entityTags(header).some((tag) => tag === "*" || tag.replace(/^W\//, "") === etag);
}

/** If-Modified-Since: true when the representation has not changed since that date (second precision). */
export function notModifiedSince(header: string | null, lastModified: Date): boolean {
  if (header === null) return false;
  const since = Date.parse(header);
  if (Number.isNaN(since)) return false;
  return Math.floor(lastModified.getTime() / 1000) * 1000 <= since;
}

/**
 * If-Range: the Range header applies only when the validator still matches. An entity tag must
 * match strongly (a weak tag never does); a date must equal Last-Modified exactly.
 */
export function ifRangeAllowsRange(header: string | null, etag: string, lastModified: Date): boolean {
  if (header === null) return true;
  const value = header.trim();
  if (value.startsWith('"') || value.startsWith("W/")) return value === etag;
  const date = Date.parse(value);
  if (Number.isNaN(date)) return false;
  return Math.floor(lastModified.getTime() / 1000) * 1000 === date;
}
