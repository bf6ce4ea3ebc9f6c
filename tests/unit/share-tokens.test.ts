import { describe, expect, it } from "vitest";
import { newShareToken } from "~/server/services/shares/manage-shares";

describe("share tokens", () => {
  it("are 43 characters of base64url (256 bits), all different, and never start with '-' (a CLI argument would read as an option)", () => {
    const tokens = Array.from({ length: 20_000 }, () => newShareToken());
    for (const t of tokens) expect(t).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{42}$/);
    expect(new Set(tokens).size).toBe(tokens.length);
    // With 20 000 draws, about 312 would have started with "-" before; "_" still starts some.
    expect(tokens.some((t) => t.startsWith("_"))).toBe(true);
  });
});
