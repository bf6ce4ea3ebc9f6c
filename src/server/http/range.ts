// `Range: bytes=...` (RFC 9110 §14.1-14.2, formerly RFC 7233) resolved against a representation of
// a known size. Pure: no I/O, no headers other than the one value.
//
// Rules, in the order they are applied:
// - No header, another unit than `bytes`, or a syntax error anywhere in the set: the header is
//   ignored and the whole representation is served (200). The RFC lets a server ignore Range, and
//   a 400 would break clients that send odd but harmless values.
// - More than MAX_RANGE_SPECS specs: ignored as well (a cheap guard against range-set abuse).
// - Each spec is resolved: `a-b` (b clamped to size-1), `a-` (to the end), `-n` (the last n bytes,
//   the whole representation when n >= size). A spec whose first byte is at or past the end, or
//   `-0`, selects nothing.
// - Nothing selected by any spec: unsatisfiable (416 with `Content-Range: bytes */size`). One
//   exception: a zero-length representation with a suffix range is served whole (200, empty), since
//   RFC 9110 calls a non-zero suffix satisfiable yet no Content-Range can describe it.
// - Several specs: overlapping or adjacent ones are coalesced (RFC 9110 §14.2 allows it). If they
//   collapse into one contiguous span it is served as a single 206; otherwise the header is ignored
//   and the whole representation is served with 200. We never build multipart/byteranges: no
//   download manager needs it, and serving everything is always correct.

/** The most range specs we look at; more and the header is ignored. */
export const MAX_RANGE_SPECS = 64;

export type RangeSelection =
  /** Serve the whole representation (200). */
  | { type: "full" }
  /** Serve bytes start..end inclusive (206). */
  | { type: "partial"; start: number; end: number }
  /** 416 with `Content-Range: bytes *\/size`. */
  | { type: "unsatisfiable" };

type Spec = { kind: "int"; first: number; last: number | null } | { kind: "suffix"; length: number };

const DIGITS = /^[0-9]+$/;

/** Digit strings beyond 2^53 lose precision but stay ordered against any real size, which is enough. */
const toNumber = (digits: string) => Number(digits);

/** The specs of a `bytes=` header, or null when the header must be ignored. */
export function parseRangeHeader(header: string): Spec[] | null {
  const eq = header.indexOf("=");
  if (eq < 0) return null;
  if (header.slice(0, eq).trim().toLowerCase() !== "bytes") return null;
  // #rule lists: elements separated by commas with optional whitespace; empty elements are allowed.
  const parts = header
    .slice(eq + 1)
    .split(",")
    .map((p) => p.trim())
    .filter((p) => p !== "");
  if (parts.length === 0 || parts.length > MAX_RANGE_SPECS) return null;
  const specs: Spec[] = [];
  for (const part of parts) {
    const dash = part.indexOf("-");
    if (dash < 0) return null;
    const first = part.slice(0, dash);
    const last = part.slice(dash + 1);
    if (first === "") {
      if (!DIGITS.test(last)) return null;
      specs.push({ kind: "suffix", length: toNumber(last) });
      continue;
    }
    if (!DIGITS.test(first)) return null;
    if (last !== "" && !DIGITS.test(last)) return null;
    const firstPos = toNumber(first);
    const lastPos = last === "" ? null : toNumber(last);
    if (lastPos !== null && lastPos < firstPos) return null;
    specs.push({ kind: "int", first: firstPos, last: lastPos });
  }
  return specs;
}

function resolveSpec(spec: Spec, size: number): { start: number; end: number } | null {
  if (spec.kind === "suffix") {
    if (spec.length === 0 || size === 0) return null;
    return { start: Math.max(0, size - spec.length), end: size - 1 };
  }
  if (spec.first >= size) return null;
  return { start: spec.first, end: spec.last === null ? size - 1 : Math.min(spec.last, size - 1) };
}

/** What to serve for a Range header (null: none sent) against a representation of `size` bytes. */
export function selectRange(header: string | null | undefined, size: number): RangeSelection {
  if (header == null) return { type: "full" };
  const specs = parseRangeHeader(header);
  if (!specs) return { type: "full" };
  const resolved = specs.map((s) => resolveSpec(s, size)).filter((r): r is { start: number; end: number } => r !== null);
  if (resolved.length === 0) {
    if (size === 0 && specs.some((s) => s.kind === "suffix" && s.length > 0)) return { type: "full" };
    return { type: "unsatisfiable" };
  }
  resolved.sort((a, b) => a.start - b.start || a.end - b.end);
  let merged = resolved[0]!;
  for (const next of resolved.slice(1)) {
    if (next.start > merged.end + 1) return { type: "full" };
    merged = { start: merged.start, end: Math.max(merged.end, next.end) };
  }
  return { type: "partial", start: merged.start, end: merged.end };
}

/** `Content-Range` for a partial response. */
export function contentRange(start: number, end: number, size: number): string {
  return `bytes ${start}-${end}/${size}`;
}

/** `Content-Range` for a 416 response. */
export function unsatisfiedContentRange(size: number): string {
  return `bytes */${size}`;
}
