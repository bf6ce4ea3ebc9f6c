// Which downloads may be shown in the browser ("inline") and how, so that nothing a user uploaded can
// ever run script on the drive's origin. A file is shown inline only when asked (`?inline=1`, the
// viewer) AND its type is one the browser renders without running its content as a page: raster
// images, audio, video, PDF (rendered by the browser's own viewer) and plain text. Everything else,
// HTML and SVG (which can carry script) included, is always an attachment. Text of any kind (code,
// markdown, JSON, XML) is sent as text/plain so it is displayed, never interpreted.
//
// Every content response also carries, inline or not: `X-Content-Type-Options: nosniff` (the browser
// keeps to the declared type), a CSP with `sandbox` (a document from this response is a unique
// origin with scripts, forms and plugins off, even if something were rendered), and
// `Cross-Origin-Resource-Policy: same-origin` (other sites cannot embed the user's files).

const INLINE_AS_IS = new Set([
  "image/png",
  "image/jpeg",
  "image/gif",
  "image/webp",
  "image/avif",
  "image/bmp",
  "image/vnd.microsoft.icon",
  "audio/mpeg",
  "audio/wav",
  "audio/flac",
  "audio/ogg",
  "audio/mp4",
  "audio/aac",
  "audio/webm",
  "video/mp4",
  "video/webm",
  "video/ogg",
  "video/quicktime",
  "application/pdf",
]);

/** Types shown as plain text. SVG and HTML are not here on purpose: they stay attachments. */
const TEXT_LIKE = /^(text\/(plain|markdown|csv|css|javascript|x-[a-z0-9.+-]+)|application\/(json|xml|javascript|x-yaml|yaml|toml|x-sh))$/;

export const SANDBOX_CSP = "sandbox; default-src 'none'; img-src 'self' data:; media-src 'self'; style-src 'unsafe-inline'";
/**
 * PDF: the browser's own viewer draws the document inside the response's origin, and Chromium's
 * shows a blank page under `default-src 'none'`; `sandbox` alone still keeps scripts, forms and
 * plugins of the document itself off (PDF JavaScript runs, if at all, inside the viewer's own
 * isolated sandbox, never on our origin).
 */
export const PDF_CSP = "sandbox";

export interface Presentation {
  disposition: "inline" | "attachment";
  /** The Content-Type to send. */
  contentType: string;
}

/** How a file of `mime` is sent: inline only when wanted and safe; text as text/plain. */
export function presentationFor(mime: string | null, wantInline: boolean): Presentation {
  const type = (mime ?? "").split(";", 1)[0]!.trim().toLowerCase();
  if (wantInline && INLINE_AS_IS.has(type)) return { disposition: "inline", contentType: type };
  if (wantInline && TEXT_LIKE.test(type)) return { disposition: "inline", contentType: "text/plain; charset=utf-8" };
  return { disposition: "attachment", contentType: type || "application/octet-stream" };
}

/** Headers every response carrying a user's bytes gets (the CSP relaxed only for a PDF shown inline). */
export function safeContentHeaders(presentation?: Presentation): Record<string, string> {
  const pdf = presentation?.disposition === "inline" && presentation.contentType === "application/pdf";
  return {
    "x-content-type-options": "nosniff",
    "content-security-policy": pdf ? PDF_CSP : SANDBOX_CSP,
    "cross-origin-resource-policy": "same-origin",
  };
}
