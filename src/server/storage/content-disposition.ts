// Content-Disposition for downloads (RFC 6266) with the RFC 5987 `filename*` form, so any Unicode
// name survives, plus a plain ASCII `filename` for old clients. Used for presigned URLs
// (response-content-disposition); the proxying download route can use the same function.

// attr-char of RFC 5987: ALPHA / DIGIT / "!" / "#" / "$" / "&" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~"
function encodeRfc5987(value: string): string {
  return encodeURIComponent(value).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** An ASCII stand-in for the quoted `filename`: non-ASCII, quotes, backslashes and controls become "_". */
function asciiFallback(name: string): string {
  const ascii = name.normalize("NFKD").replace(/[\u0300-\u036f]/g, "");
  return ascii.replace(/[^\x20-\x7e]|["\\%]/g, "_");
}

export function contentDisposition(fileName: string, type: "attachment" | "inline" = "attachment"): string {
  const name = fileName.replace(/[\u0000-\u001f\u007f]/g, "").trim() || "download";
  return `${type}; filename="${asciiFallback(name)}"; filename*=UTF-8''${encodeRfc5987(name)}`;
}
