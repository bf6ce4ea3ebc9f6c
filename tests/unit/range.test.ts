import { describe, expect, it } from "vitest";
import { MAX_RANGE_SPECS, contentRange, parseRangeHeader, selectRange, unsatisfiedContentRange } from "~/server/http/range";

const full = { type: "full" } as const;
const unsatisfiable = { type: "unsatisfiable" } as const;
const partial = (start: number, end: number) => ({ type: "partial", start, end }) as const;

describe("selectRange", () => {
  it("serves everything without a Range header", () => {
    expect(selectRange(null, 100)).toEqual(full);
    expect(selectRange(undefined, 100)).toEqual(full);
  });

  it("resolves the three single-range forms", () => {
    expect(selectRange("bytes=0-9", 100)).toEqual(partial(0, 9));
    expect(selectRange("bytes=10-", 100)).toEqual(partial(10, 99));
    expect(selectRange("bytes=-10", 100)).toEqual(partial(90, 99));
    expect(selectRange("bytes=99-99", 100)).toEqual(partial(99, 99));
    expect(selectRange("bytes=0-", 100)).toEqual(partial(0, 99));
  });

  it("clamps a last-pos past the end and a suffix longer than the representation", () => {
    expect(selectRange("bytes=50-1000", 100)).toEqual(partial(50, 99));
    expect(selectRange("bytes=-1000", 100)).toEqual(partial(0, 99));
    expect(selectRange("bytes=0-99999999999999999999999", 100)).toEqual(partial(0, 99));
  });

  it("is unsatisfiable when no spec selects a byte", () => {
    expect(selectRange("bytes=100-", 100)).toEqual(unsatisfiable);
    expect(selectRange("bytes=100-200", 100)).toEqual(unsatisfiable);
    expect(selectRange("bytes=-0", 100)).toEqual(unsatisfiable);
    expect(selectRange("bytes=100-, 200-300", 100)).toEqual(unsatisfiable);
    expect(selectRange("bytes=99999999999999999999-", 100)).toEqual(unsatisfiable);
  });

  it("treats an empty representation: int ranges unsatisfiable, suffix ranges served whole", () => {
    expect(selectRange("bytes=0-", 0)).toEqual(unsatisfiable);
    expect(selectRange("bytes=0-0", 0)).toEqual(unsatisfiable);
    expect(selectRange("bytes=-5", 0)).toEqual(full);
  });

  it("ignores malformed headers and other units (200, never 400)", () => {
    for (const header of [
      "",
      "bytes",
      "bytes=",
      "bytes=abc",
      "bytes=5-3",
      "bytes=1-2-3",
      "bytes=--5",
      "bytes=-",
      "bytes= 1 - 2",
      "bytes=0x10-",
      "bytes=+1-2",
      "items=0-5",
      "0-5",
    ]) {
      expect(selectRange(header, 100), header).toEqual(full);
    }
  });

  it("accepts case-insensitive units, whitespace and empty list elements", () => {
    expect(selectRange("Bytes=0-9", 100)).toEqual(partial(0, 9));
    expect(selectRange("bytes = 0-9 ", 100)).toEqual(partial(0, 9));
    expect(selectRange("bytes=, 0-9 ,", 100)).toEqual(partial(0, 9));
  });

  it("coalesces overlapping or adjacent specs into one 206", () => {
    expect(selectRange("bytes=0-9,10-19", 100)).toEqual(partial(0, 19));
    expect(selectRange("bytes=10-19, 0-14", 100)).toEqual(partial(0, 19));
    expect(selectRange("bytes=0-50,-60", 100)).toEqual(partial(0, 99));
  });

  it("drops unsatisfiable specs of a set and serves the rest", () => {
    expect(selectRange("bytes=500-600, 0-9", 100)).toEqual(partial(0, 9));
  });

  it("serves disjoint multi-range requests whole (no multipart/byteranges)", () => {
    expect(selectRange("bytes=0-9,20-29", 100)).toEqual(full);
    expect(selectRange("bytes=0-0,-1", 100)).toEqual(full);
  });

  it("ignores a header with too many specs", () => {
    const many = Array.from({ length: MAX_RANGE_SPECS + 1 }, (_, i) => `${i}-${i}`).join(",");
    expect(selectRange(`bytes=${many}`, 1000)).toEqual(full);
    const allowed = Array.from({ length: MAX_RANGE_SPECS }, (_, i) => `${i}-${i}`).join(",");
    expect(selectRange(`bytes=${allowed}`, 1000)).toEqual(partial(0, MAX_RANGE_SPECS - 1));
  });
});

describe("parseRangeHeader", () => {
  it("returns the specs in order", () => {
    expect(parseRangeHeader("bytes=0-1, 5-, -3")).toEqual([
      { kind: "int", first: 0, last: 1 },
      { kind: "int", first: 5, last: null },
      { kind: "suffix", length: 3 },
    ]);
  });
});

describe("Content-Range values", () => {
  it("formats partial and unsatisfied ranges", () => {
    expect(contentRange(0, 9, 100)).toBe("bytes 0-9/100");
    expect(unsatisfiedContentRange(100)).toBe("bytes */100");
  });
});
