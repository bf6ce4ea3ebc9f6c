import { describe, expect, it } from "vitest";
import { contentDisposition } from "~/server/http/content-disposition";
import { StorageError, isStorageError, toDomainError } from "~/server/storage/errors";
import { assertValidRange, rangeHeader, resolveRange } from "~/server/storage/range";

const ctx = { driver: "local" as const, key: "k" };

describe("byte range semantics (src/server/storage/range.ts)", () => {
  it("resolves closed, open, suffix and clamped ranges to inclusive offsets", () => {
    expect(resolveRange({ start: 10, end: 19 }, 100)).toEqual({ start: 10, end: 19 });
    expect(resolveRange({ start: 90 }, 100)).toEqual({ start: 90, end: 99 });
    expect(resolveRange({ start: 50, end: 500 }, 100)).toEqual({ start: 50, end: 99 });
    expect(resolveRange({ suffixLength: 7 }, 100)).toEqual({ start: 93, end: 99 });
    expect(resolveRange({ suffixLength: 700 }, 100)).toEqual({ start: 0, end: 99 });
  });

  it("a range that selects nothing resolves to null (RANGE_NOT_SATISFIABLE in the drivers)", () => {
    expect(resolveRange({ start: 100 }, 100)).toBeNull();
    expect(resolveRange({ start: 0 }, 0)).toBeNull();
    expect(resolveRange({ suffixLength: 1 }, 0)).toBeNull();
  });

  it("formats HTTP Range headers", () => {
    expect(rangeHeader({ start: 0, end: 0 })).toBe("bytes=0-0");
    expect(rangeHeader({ start: 5 })).toBe("bytes=5-");
    expect(rangeHeader({ suffixLength: 4 })).toBe("bytes=-4");
  });

  it.each([[{ start: -1 }], [{ start: 1.5 }], [{ start: 5, end: 4 }], [{ start: 0, end: -1 }], [{ suffixLength: 0 }], [{ suffixLength: -3 }], [{ start: Number.NaN }]])(
    "rejects the malformed range %j as INVALID_ARGUMENT",
    (range) => {
      expect(() => assertValidRange(range, ctx)).toThrow(StorageError);
      try {
        assertValidRange(range, ctx);
      } catch (e) {
        expect(isStorageError(e, "INVALID_ARGUMENT")).toBe(true);
      }
    },
  );
});

describe("Content-Disposition for downloads (RFC 6266 / RFC 5987)", () => {
  it("gives an ASCII filename and a UTF-8 filename* that round-trips", () => {
    const value = contentDisposition('Bericht Ü 2024 "final" (1).pdf');
    expect(value).toBe(`attachment; filename="Bericht U 2024 _final_ (1).pdf"; filename*=UTF-8''Bericht%20%C3%9C%202024%20%22final%22%20%281%29.pdf`);
    const encoded = /filename\*=UTF-8''(.*)$/.exec(value)?.[1] ?? "";
    expect(decodeURIComponent(encoded)).toBe('Bericht Ü 2024 "final" (1).pdf');
  });

  it("strips control characters, keeps CJK in filename* and never emits a header-breaking character", () => {
    const value = contentDisposition("报告\r\n\u0000.txt", "inline");
    expect(value.startsWith("inline; ")).toBe(true);
    expect(value).not.toMatch(/[\r\n\u0000]/);
    expect(value).toContain("filename*=UTF-8''%E6%8A%A5%E5%91%8A.txt");
    expect(/^[\x20-\x7e]*$/.test(value)).toBe(true);
    expect(contentDisposition("   ")).toContain('filename="download"');
  });
});

describe("StorageError → DomainError (one status table in src/server/errors.ts)", () => {
  it("maps codes without inventing statuses", () => {
    const mk = (code: ConstructorParameters<typeof StorageError>[0]) => toDomainError(new StorageError(code, "m", { operation: "op" }));
    expect(mk("NOT_FOUND").status).toBe(404);
    expect(mk("RANGE_NOT_SATISFIABLE").status).toBe(416);
    expect(mk("UNAVAILABLE").status).toBe(503);
    expect(mk("ACCESS_DENIED").status).toBe(503);
    expect(mk("INVALID_KEY").status).toBe(500);
    expect(mk("PROVIDER").status).toBe(500);
    expect(mk("INVALID_PART").status).toBe(400);
  });
});
