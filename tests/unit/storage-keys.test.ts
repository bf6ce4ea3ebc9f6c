import { describe, expect, it } from "vitest";
import { isStorageError } from "~/server/storage/errors";
import {
  MAX_KEY_BYTES,
  assertValidKey,
  assertValidPrefix,
  blobKey,
  keyProblem,
  normalizePrefix,
  prefixProblem,
  stagingKey,
} from "~/server/storage/keys";

const SHA = "ab" + "cd" + "0123456789abcdef".repeat(3) + "0123456789ab";

describe("storage keys (src/server/storage/keys.ts)", () => {
  it("accepts ordinary, nested, unicode and space-containing keys", () => {
    for (const key of ["a", "blobs/ab/cd/x", "dir with space/ünïcødé 文件 +&=?#%.txt", ".hidden/file", "a/.b/c..d"]) {
      expect(keyProblem(key)).toBeNull();
      expect(assertValidKey(key)).toBe(key);
    }
  });

  it.each([
    ["", "is empty"],
    ["/abs", "starts with a slash"],
    ["dir/", "ends with a slash"],
    ["a//b", "empty segment"],
    ["../x", '".." segment'],
    ["a/../b", '".." segment'],
    ["a/./b", '"." segment'],
    ["nul\u0000byte", "control character"],
    ["new\nline", "control character"],
    ["del\u007f", "control character"],
    ["c1\u0085", "control character"],
    ["sep\u2028", "control character"],
    ["back\\slash", "backslash"],
    ["lone\ud800surrogate", "well-formed"],
    ["x".repeat(MAX_KEY_BYTES + 1), `longer than ${MAX_KEY_BYTES} bytes`],
    ["ü".repeat(MAX_KEY_BYTES / 2 + 1), `longer than ${MAX_KEY_BYTES} bytes`],
    [`${"s".repeat(256)}/x`, "segment over 255 bytes"],
  ])("rejects %j (%s) with an INVALID_KEY StorageError", (key, why) => {
    expect(keyProblem(key)).toContain(why);
    let error: unknown;
    try {
      assertValidKey(key, "put");
    } catch (e) {
      error = e;
    }
    expect(isStorageError(error, "INVALID_KEY")).toBe(true);
    expect((error as Error).message).toContain(why);
  });

  it("prefixes may be empty, end in a slash or stop mid-segment, but follow the same character rules", () => {
    for (const prefix of ["", "staging/", "blobs/ab", "a/b/c/"]) expect(prefixProblem(prefix)).toBeNull();
    for (const prefix of ["/x", "a//", "../", "a/../", "x\u0000", "x/.."]) {
      expect(prefixProblem(prefix)).not.toBeNull();
      expect(() => assertValidPrefix(prefix)).toThrow(/Invalid storage prefix/);
    }
  });

  it("blobKey fans out by the first two bytes of the SHA-256 and rejects anything that is not one", () => {
    expect(blobKey(SHA)).toBe(`blobs/ab/cd/${SHA}`);
    for (const bad of ["", SHA.toUpperCase(), SHA.slice(1), `${SHA}0`, "../" + SHA.slice(3)]) {
      expect(() => blobKey(bad)).toThrow(/blob digest/);
    }
  });

  it("stagingKey takes an upload id of safe characters only", () => {
    expect(stagingKey("clx1abc_DEF-9")).toBe("staging/clx1abc_DEF-9");
    for (const bad of ["", "a/b", "..", "a b", "x".repeat(129)]) expect(() => stagingKey(bad)).toThrow(/upload id/);
  });

  it("STORAGE_PREFIX is normalised to segments ending in one slash and validated", () => {
    expect(normalizePrefix("")).toBe("");
    expect(normalizePrefix("/")).toBe("");
    expect(normalizePrefix("drive1")).toBe("drive1/");
    expect(normalizePrefix("/drive1/prod/")).toBe("drive1/prod/");
    expect(() => normalizePrefix("a/../b")).toThrow(/Invalid storage prefix/);
    expect(() => normalizePrefix("a//b")).toThrow(/Invalid storage prefix/);
  });
});
