import { timingSafeEqual } from "node:crypto";

/**
 * Whether `given` (from a token, cookie or URL) is exactly `expected`, the base64url text of a MAC,
 * in constant time. Compared as text, not decoded: the last base64url character of a 32-byte MAC
 * carries 2 bits a decoder ignores, so a decoded comparison accepts strings that were altered.
 */
export function macMatches(given: string, expected: string): boolean {
  const a = Buffer.from(given, "latin1");
  const b = Buffer.from(expected, "latin1");
  return a.length === b.length && timingSafeEqual(a, b);
}
