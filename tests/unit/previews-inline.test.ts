import { describe, expect, it } from "vitest";
import { presentationFor } from "~/server/services/downloads/inline";
import { ChunkSizer, initialChunkSize } from "~/app/_components/transfers/chunk-size";

// Which downloads are shown inline (services/downloads/inline.ts), and the page's adaptive chunk size.

describe("inline presentation", () => {
  it("shows safe types inline only when asked", () => {
    for (const mime of ["image/png", "image/jpeg", "video/mp4", "video/webm", "audio/mpeg", "audio/wav", "application/pdf"]) {
      expect(presentationFor(mime, true), mime).toEqual({ disposition: "inline", contentType: mime });
      expect(presentationFor(mime, false).disposition, mime).toBe("attachment");
    }
  });

  it("sends text of any kind as text/plain", () => {
    for (const mime of ["text/plain", "text/markdown", "text/csv", "application/json", "application/xml", "text/javascript"]) {
      expect(presentationFor(mime, true), mime).toEqual({ disposition: "inline", contentType: "text/plain; charset=utf-8" });
    }
  });

  it("never shows HTML, SVG or unknown types inline", () => {
    for (const mime of ["text/html", "image/svg+xml", "application/xhtml+xml", "application/octet-stream", "application/x-msdownload", null, "TEXT/HTML; charset=utf-8"]) {
      expect(presentationFor(mime, true).disposition, String(mime)).toBe("attachment");
    }
    expect(presentationFor("text/html", true).contentType).toBe("text/html");
  });
});

describe("adaptive chunk size", () => {
  const MiB = 1024 * 1024;
  it("starts from the file size, then aims at a few seconds per chunk within 1-64 MiB", () => {
    const sizer = new ChunkSizer();
    expect(sizer.chunkSizeFor(10 * MiB, 3)).toBe(initialChunkSize(10 * MiB));
    // 8 MiB/s per request → 32 MiB chunks for a big file
    for (let i = 0; i < 5; i++) sizer.record(8 * MiB, 1000);
    expect(sizer.chunkSizeFor(10_000 * MiB, 3)).toBe(32 * MiB);
    // ... but a 40 MiB file still spreads over 3 requests (3 chunks of 16 MiB), a 20 MiB one too
    expect(sizer.chunkSizeFor(40 * MiB, 3)).toBe(16 * MiB);
    expect(sizer.chunkSizeFor(20 * MiB, 3)).toBe(8 * MiB);
    // very fast: capped at 64 MiB; very slow: 1 MiB
    for (let i = 0; i < 20; i++) sizer.record(64 * MiB, 100);
    expect(sizer.chunkSizeFor(100_000 * MiB, 3)).toBe(64 * MiB);
    for (let i = 0; i < 30; i++) sizer.record(MiB, 10_000);
    expect(sizer.chunkSizeFor(100_000 * MiB, 3)).toBe(MiB);
  });
});
