import type { Readable } from "node:stream";
import busboy from "busboy";
import { DomainError } from "~/server/errors";
import type { ChunkBody } from "~/server/services/uploads/chunks";
import type { FormParts } from "~/server/services/uploads/form";
import { feed, type Meter } from "~/server/services/uploads/streams";

// The request bodies of the upload routes, parsed: a chunk PUT (raw bytes or one multipart field
// `chunk`, with Content-Length and Content-Digest) and a form POST (multipart/form-data, busboy).
// The services get the bytes as streams and the headers as values (services/uploads/chunks.ts
// ChunkBody, form.ts FormParts) and never look at HTTP themselves.

interface BodyRequest {
  body: Readable;
  headers: Headers;
  signal: AbortSignal;
}

/** The sha-256 member of a `Content-Digest` header (RFC 9530), or null when there is none. */
export function parseContentDigest(header: string | null): Buffer | null {
  if (header === null || header.trim() === "") return null;
  for (const member of header.split(",")) {
    const eq = member.indexOf("=");
    if (eq < 0) continue;
    if (member.slice(0, eq).trim().toLowerCase() !== "sha-256") continue;
    const value = member.slice(eq + 1).trim();
    const m = /^:([A-Za-z0-9+/]+={0,2}):$/.exec(value);
    const digest = m ? Buffer.from(m[1]!, "base64") : null;
    if (!digest || digest.length !== 32) {
      throw new DomainError("BAD_REQUEST", "Content-Digest sha-256 must be 32 bytes of base64 between colons");
    }
    return digest;
  }
  return null;
}

export function isMultipart(contentType: string | null): boolean {
  return /^multipart\/form-data\s*;/i.test(contentType ?? "");
}

/**
 * A chunk body: the raw request, or the one file field `chunk` of a multipart/form-data request.
 * `stream` is the chunk's bytes; `finished` settles when the whole request was read and well formed.
 */
export function chunkSource(
  req: { body: Readable; headers: Headers; signal: AbortSignal },
  sink: Meter,
): { finished: Promise<void>; stop: () => void } {
  const contentType = req.headers.get("content-type");
  if (!isMultipart(contentType)) {
    const stop = feed(req.body, sink, req.signal);
    const finished = new Promise<void>((resolve, reject) => {
      sink.once("finish", resolve);
      sink.once("error", reject);
      sink.once("close", () => reject(new DomainError("BAD_REQUEST", "The chunk body was not completed")));
    });
    return { finished, stop };
  }

  let bb: busboy.Busboy;
  try {
    bb = busboy({ headers: { "content-type": contentType! }, limits: { files: 1, fields: 16, fieldSize: 1024, parts: 17 } });
  } catch (e) {
    throw new DomainError("BAD_REQUEST", `Malformed multipart body: ${(e as Error).message}`);
  }
  let sawChunk = false;
  const finished = new Promise<void>((resolve, reject) => {
    const fail = (e: unknown) => {
      const error = e instanceof DomainError ? e : new DomainError("BAD_REQUEST", `Malformed multipart body: ${(e as Error).message}`);
      sink.destroy(error);
      reject(error);
    };
    bb.on("file", (name, file) => {
      if (name !== "chunk" || sawChunk) {
        file.resume();
        fail(new DomainError("BAD_REQUEST", 'A multipart chunk body has exactly one file field, "chunk"'));
        return;
      }
      sawChunk = true;
      file.on("error", fail);
      file.pipe(sink);
    });
    bb.on("filesLimit", () => fail(new DomainError("BAD_REQUEST", 'A multipart chunk body has exactly one file field, "chunk"')));
    bb.on("error", fail);
    bb.on("close", () => {
      if (!sawChunk) return fail(new DomainError("BAD_REQUEST", 'No file field "chunk" in the multipart body'));
      if (sink.writableFinished) return resolve();
      sink.once("finish", resolve);
      sink.once("error", reject);
    });
    sink.once("error", reject);
    sink.once("close", () => {
      if (!sink.writableFinished) reject(new DomainError("BAD_REQUEST", "The chunk body was not completed"));
    });
  });
  const stop = feed(req.body, bb, req.signal);
  return { finished, stop };
}

/** Reads and discards a body (a resent chunk), up to `limit` bytes; more is left unread. */
async function drain(body: Readable, limit: number, signal: AbortSignal): Promise<void> {
  let seen = 0;
  await new Promise<void>((resolve) => {
    const done = () => {
      body.off("data", onData);
      body.off("end", done);
      body.off("error", done);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const onData = (buf: Buffer) => {
      seen += buf.length;
      if (seen > limit) {
        body.pause();
        done();
      }
    };
    body.on("data", onData);
    body.once("end", done);
    body.once("error", done);
    signal.addEventListener("abort", done, { once: true });
  });
}

/** PUT /api/uploads/{uploadId}/chunks/{index}: the chunk's body, as the chunk service takes it. */
export function chunkBody(req: BodyRequest): ChunkBody {
  const multipart = isMultipart(req.headers.get("content-type"));
  const declared = req.headers.get("content-length");
  return {
    declaredBytes: multipart || declared === null ? null : Number(declared),
    expectedDigest: () => parseContentDigest(req.headers.get("content-digest")),
    pipeTo: (sink) => chunkSource(req, sink),
    discard: (limit) => drain(req.body, limit, req.signal),
  };
}

const MAX_FORM_FILES = 1000;

/** POST /api/files: the form's fields and files in order, as the form service takes them. */
export function formParts(req: BodyRequest): FormParts {
  const contentType = req.headers.get("content-type");
  if (!isMultipart(contentType)) throw new DomainError("UNSUPPORTED_MEDIA_TYPE", "Send multipart/form-data");
  let bb: busboy.Busboy;
  try {
    bb = busboy({
      headers: { "content-type": contentType! },
      // Names are checked by our own rules (a "/" is refused, not silently cut to a basename).
      preservePath: true,
      // Browsers, curl -F and FormData send the filename parameter as raw UTF-8 (busboy's default
      // for it is latin1, which turns 文件.txt into mojibake); filename*= still wins when present.
      defParamCharset: "utf8",
      limits: { fields: 32, fieldSize: 4096, fieldNameSize: 128, files: MAX_FORM_FILES, parts: MAX_FORM_FILES + 32 },
    });
  } catch (e) {
    throw new DomainError("BAD_REQUEST", `Malformed multipart body: ${(e as Error).message}`);
  }
  let stopReading: (() => void) | null = null;
  return {
    read(handlers) {
      return new Promise<void>((resolve, reject) => {
        const fail = (e: unknown) =>
          reject(e instanceof DomainError ? e : new DomainError("BAD_REQUEST", `Malformed multipart body: ${(e as Error).message}`));
        bb.on("field", (name, value) => handlers.field(name, value));
        bb.on("file", (_field, file, info) => handlers.file(file, { filename: info.filename, mimeType: info.mimeType }));
        bb.on("filesLimit", () => fail(new DomainError("BAD_REQUEST", `At most ${MAX_FORM_FILES} files per request`)));
        bb.on("error", fail);
        bb.on("close", () => resolve());
        stopReading = feed(req.body, bb, req.signal);
      });
    },
    stop() {
      stopReading?.();
      bb.destroy();
    },
  };
}
