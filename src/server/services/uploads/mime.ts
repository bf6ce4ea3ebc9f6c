// A small extension → media type table for entries whose client gave no useful type. Downloads send
// what is stored here; anything unknown is application/octet-stream.

const byExtension: Record<string, string> = {
  txt: "text/plain", md: "text/markdown", csv: "text/csv", html: "text/html", htm: "text/html", css: "text/css",
  js: "text/javascript", mjs: "text/javascript", json: "application/json", xml: "application/xml",
  pdf: "application/pdf", zip: "application/zip", gz: "application/gzip", tgz: "application/gzip",
  tar: "application/x-tar", "7z": "application/x-7z-compressed", rar: "application/vnd.rar",
  doc: "application/msword", docx: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
  xls: "application/vnd.ms-excel", xlsx: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
  ppt: "application/vnd.ms-powerpoint", pptx: "application/vnd.openxmlformats-officedocument.presentationml.presentation",
  odt: "application/vnd.oasis.opendocument.text", epub: "application/epub+zip",
  png: "image/png", jpg: "image/jpeg", jpeg: "image/jpeg", gif: "image/gif", webp: "image/webp", avif: "image/avif",
  svg: "image/svg+xml", bmp: "image/bmp", ico: "image/vnd.microsoft.icon", heic: "image/heic", tif: "image/tiff", tiff: "image/tiff",
  mp3: "audio/mpeg", wav: "audio/wav", flac: "audio/flac", ogg: "audio/ogg", m4a: "audio/mp4", aac: "audio/aac",
  mp4: "video/mp4", m4v: "video/mp4", mov: "video/quicktime", webm: "video/webm", mkv: "video/x-matroska", avi: "video/x-msvideo",
  iso: "application/x-iso9660-image", apk: "application/vnd.android.package-archive", exe: "application/vnd.microsoft.portable-executable",
};

const OCTET = "application/octet-stream";
const TYPE_SYNTAX = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$/;

export function guessMime(name: string): string {
  const dot = name.lastIndexOf(".");
  if (dot <= 0 || dot === name.length - 1) return OCTET;
  return byExtension[name.slice(dot + 1).toLowerCase()] ?? OCTET;
}

/** The client's declared type when it is a plain, specific media type; else a guess from the name. */
export function chooseMime(name: string, declared: string | null | undefined): string {
  const type = (declared ?? "").split(";", 1)[0]!.trim().toLowerCase();
  if (type && type !== OCTET && TYPE_SYNTAX.test(type)) return type;
  return guessMime(name);
}
