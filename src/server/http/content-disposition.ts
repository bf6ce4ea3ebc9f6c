// `Content-Disposition` for downloads: RFC 6266 with an RFC 8187 (ex-5987) `filename*` carrying the
// real name in UTF-8, and a quoted ASCII `filename` for clients that predate filename*.
//
//   attachment; filename="Resume_2024_.pdf"; filename*=UTF-8''R%C3%A9sum%C3%A9%202024%E2%84%A2.pdf
//
// Every client that knows filename* (all current browsers, curl -J, wget) prefers it, so any name the
// drive accepts (quotes, semicolons, backslashes, emoji) comes out byte for byte. The fallback only
// has to be safe: printable ASCII, no `"` or `\` (quoted-string escapes are parsed inconsistently),
// no `%` (some browsers percent-decode filename), and never empty.

/**
 * RFC 8187 value-chars: attr-char = ALPHA / DIGIT / "!" / "#" / "$" / "&" / "+" / "-" / "." / "^" /
 * "_" / "`" / "|" / "~"; everything else is percent-encoded UTF-8. encodeURIComponent leaves
 * `'()*` alone, which are not attr-chars, so those are encoded on top.
 */
export function encodeExtValue(value: string): string {
  return encodeURIComponent(value).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** A printable-ASCII stand-in: accents dropped (é → e), anything else unsafe becomes "_". */
export function asciiFallback(name: string): string {
  const stripped = name.normalize("NFKD").replace(/[\u0300-\u036f]/g, "");
  // One "_" per code point (not per UTF-16 unit), so an emoji does not become "__".
  const ascii = Array.from(stripped, (ch) => (/^[\x20-\x7e]$/.test(ch) && !/["\\%]/.test(ch) ? ch : "_")).join("");
  return ascii.trim() === "" ? "download" : ascii;
}

/** Controls (C0, DEL, C1) and line/paragraph separators never belong in a header, encoded or not. */
function cleanName(name: string): string {
  const cleaned = name.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, "");
  // Lone surrogates cannot be encoded as UTF-8 (encodeURIComponent throws on them).
  const wellFormed = cleaned.isWellFormed() ? cleaned : cleaned.toWellFormed();
  return wellFormed.trim() === "" ? "download" : wellFormed;
}

export function contentDisposition(fileName: string, type: "attachment" | "inline" = "attachment"): string {
  const name = cleanName(fileName);
  return `${type}; filename="${asciiFallback(name)}"; filename*=UTF-8''${encodeExtValue(name)}`;
}
