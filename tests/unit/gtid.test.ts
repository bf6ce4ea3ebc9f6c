import { describe, expect, it } from "vitest";
import { formatGtid, gtidDistance, gtidMax, gtidReached, parseGtid } from "~/server/db/gtid";

// GTID positions as MariaDB prints them (@@gtid_binlog_pos, @@gtid_slave_pos): what a causal read
// waits for and how replica lag is counted (src/server/db/replicas.ts, causal.ts).

describe("GTID positions", () => {
  it("parses and formats multi-domain positions, empty text as the empty position", () => {
    expect(formatGtid(parseGtid("1-2-30,0-1-18"))).toBe("0-1-18,1-2-30");
    expect(parseGtid("").size).toBe(0);
    expect(parseGtid(null).size).toBe(0);
    expect(parseGtid(" 0-1-5 , ").get(0)).toEqual({ server: 1, seq: 5n });
    expect(() => parseGtid("0-1")).toThrow(/not a GTID position/);
    expect(() => parseGtid("a-b-c")).toThrow(/not a GTID position/);
  });

  it("keeps seqs beyond 2^53 exact", () => {
    const big = "0-1-18446744073709551615";
    expect(formatGtid(parseGtid(big))).toBe(big);
    expect(gtidReached(parseGtid("0-1-18446744073709551614"), parseGtid(big))).toBe(false);
  });

  it("is reached when every domain wanted is at least as far, whatever server wrote it", () => {
    const applied = parseGtid("0-1-100,1-2-7");
    expect(gtidReached(applied, parseGtid("0-1-100"))).toBe(true);
    expect(gtidReached(applied, parseGtid("0-3-99,1-2-7"))).toBe(true);
    expect(gtidReached(applied, parseGtid("0-1-101"))).toBe(false);
    expect(gtidReached(applied, parseGtid("2-1-1"))).toBe(false);
    expect(gtidReached(applied, parseGtid(""))).toBe(true);
    expect(gtidReached(parseGtid(""), parseGtid("0-1-1"))).toBe(false);
  });

  it("counts the transactions still missing, summed over domains", () => {
    expect(gtidDistance(parseGtid("0-1-90,1-2-7"), parseGtid("0-1-100,1-2-10,2-1-4"))).toBe(10 + 3 + 4);
    expect(gtidDistance(parseGtid("0-1-100"), parseGtid("0-1-90"))).toBe(0);
  });

  it("merges two positions domain by domain, never moving backwards", () => {
    expect(formatGtid(gtidMax(parseGtid("0-1-10,1-2-5"), parseGtid("0-1-8,1-2-9,2-3-1")))).toBe("0-1-10,1-2-9,2-3-1");
  });
});
