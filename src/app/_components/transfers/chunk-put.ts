// One PUT of a chunk's bytes (PUT /api/uploads/{id}/chunks/{index}), with upload progress, which
// fetch() does not give, hence XMLHttpRequest. Optional headers: the upload's grant (so the chunk
// goes through after the sign-in expired) and an RFC 9530 Content-Digest the server checks.

export class ChunkError extends Error {
  constructor(
    readonly status: number,
    readonly code: string | null,
    message: string,
    readonly retryAfterMs: number | null,
  ) {
    super(message);
  }
  /** Network failures, timeouts, a digest that did not match, throttles, a chunk being written, server errors. */
  get retryable(): boolean {
    return this.status === 0 || this.status === 408 || this.status === 409 || this.status === 422 || this.status === 429 || this.status >= 500;
  }
}

export const abortError = () => new DOMException("The upload was stopped", "AbortError");
export const isAbort = (e: unknown) => e instanceof DOMException && e.name === "AbortError";

export function putChunk(opts: {
  uploadId: string;
  index: number;
  body: Blob;
  headers: Record<string, string>;
  signal: AbortSignal;
  onProgress: (sent: number) => void;
}): Promise<void> {
  const { uploadId, index, body, headers, signal, onProgress } = opts;
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(abortError());
    const xhr = new XMLHttpRequest();
    xhr.open("PUT", `/api/uploads/${encodeURIComponent(uploadId)}/chunks/${index}`);
    xhr.setRequestHeader("content-type", "application/octet-stream");
    for (const [name, value] of Object.entries(headers)) xhr.setRequestHeader(name, value);
    xhr.withCredentials = true;
    const onAbort = () => xhr.abort();
    signal.addEventListener("abort", onAbort, { once: true });
    xhr.upload.onprogress = (e) => onProgress(e.loaded);
    xhr.onabort = () => reject(abortError());
    xhr.onerror = () => reject(new ChunkError(0, null, "Network error", null));
    xhr.ontimeout = () => reject(new ChunkError(0, null, "Timed out", null));
    xhr.onloadend = () => signal.removeEventListener("abort", onAbort);
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) return resolve();
      let code: string | null = null;
      let message = `HTTP ${xhr.status}`;
      try {
        const parsed = JSON.parse(xhr.responseText) as { error?: { code?: string; message?: string } };
        code = parsed.error?.code ?? null;
        message = parsed.error?.message ?? message;
      } catch {
        // not JSON (a proxy's error page): keep the status
      }
      const retryAfter = Number(xhr.getResponseHeader("retry-after"));
      reject(new ChunkError(xhr.status, code, message, Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : null));
    };
    xhr.send(body);
  });
}

/** `sha-256=:<base64>:` (RFC 9530) from a lowercase hex SHA-256. */
export function contentDigest(sha256Hex: string): string {
  const bytes = sha256Hex.match(/../g)!.map((h) => parseInt(h, 16));
  return `sha-256=:${btoa(String.fromCharCode(...bytes))}:`;
}
