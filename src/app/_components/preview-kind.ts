import type { IconName } from "./icons";

// How the viewer shows a file, from its media type (and, for text and code, its extension). The
// server has the last word on what is served inline (src/server/services/downloads/inline.ts);
// this only picks the element. HTML and SVG are shown as their source text, never rendered.

export type PreviewKind = "image" | "video" | "audio" | "pdf" | "text" | "none";

const IMAGE = new Set(["image/png", "image/jpeg", "image/gif", "image/webp", "image/avif", "image/bmp", "image/vnd.microsoft.icon"]);
const VIDEO = new Set(["video/mp4", "video/webm", "video/ogg", "video/quicktime"]);
const AUDIO = new Set(["audio/mpeg", "audio/wav", "audio/flac", "audio/ogg", "audio/mp4", "audio/aac", "audio/webm"]);
const TEXT_EXTENSIONS = new Set(
  (
    "txt md markdown csv tsv log ini cfg conf toml yaml yml json jsonc xml html htm svg css scss less js mjs cjs jsx ts tsx " +
    "py rb go rs java kt c h cc cpp hpp cs php pl sh bash zsh fish ps1 sql r lua swift dart scala ex exs erl hs ml vue svelte " +
    "dockerfile makefile gitignore env properties gradle tex rst adoc srt vtt"
  ).split(" "),
);

function extension(name: string): string {
  const dot = name.lastIndexOf(".");
  return dot >= 0 ? name.slice(dot + 1).toLowerCase() : name.toLowerCase();
}

export function previewKind(mime: string | null, name: string): PreviewKind {
  const type = (mime ?? "").split(";", 1)[0]!.trim().toLowerCase();
  if (IMAGE.has(type)) return "image";
  if (VIDEO.has(type)) return "video";
  if (AUDIO.has(type)) return "audio";
  if (type === "application/pdf") return "pdf";
  if (type.startsWith("text/") || type === "application/json" || type === "application/xml" || type === "image/svg+xml" || TEXT_EXTENSIONS.has(extension(name))) {
    return "text";
  }
  return "none";
}

/** Shown as source even though a browser would render them (they could run script). */
export function isRenderableMarkup(mime: string | null, name: string): boolean {
  const type = (mime ?? "").split(";", 1)[0]!.trim().toLowerCase();
  return type === "text/html" || type === "image/svg+xml" || ["html", "htm", "svg", "xhtml"].includes(extension(name));
}

export function kindIcon(kind: "file" | "folder", mime: string | null, name: string): IconName {
  if (kind === "folder") return "folder";
  switch (previewKind(mime, name)) {
    case "image":
      return "image";
    case "video":
      return "film";
    case "audio":
      return "music";
    case "text":
      return "code";
    default:
      return "file";
  }
}

/** Images the server makes thumbnails of (src/server/services/previews/thumbnails.ts). */
const THUMBNAIL_TYPES = new Set(["image/png", "image/jpeg", "image/gif", "image/webp", "image/avif", "image/heic", "image/tiff", "image/svg+xml"]);

export function hasThumbnail(mime: string | null): boolean {
  return mime !== null && THUMBNAIL_TYPES.has(mime.split(";", 1)[0]!.trim().toLowerCase());
}
