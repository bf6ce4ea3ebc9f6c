import { spawnSync } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { HEAP_GROWING_PERCENT } from "~/server/heap-growth";

// The web process sets V8's heap growing factor at run time (src/server/heap-growth.ts) instead of
// on the node command line. This checks that V8 really applies a flag set that late: a fresh node
// process with V8's own trace of the limits it computes, one full GC before and one after.

const root = path.resolve(import.meta.dirname, "../..");

function limitFactors(tune: boolean): string[] {
  const script = `
    import { tuneHeapGrowth } from "./src/server/heap-growth.ts";
    const keep = [];
    for (let i = 0; i < 200000; i++) keep.push({ i });
    ${tune ? "tuneHeapGrowth();" : ""}
    globalThis.gc();
    console.error("kept", keep.length);
  `;
  const out = spawnSync(process.execPath, ["--trace-gc-verbose", "--expose-gc", "--import", "tsx", "--input-type=module", "-e", script], {
    cwd: root,
    encoding: "utf8",
    timeout: 60_000,
  });
  expect(out.status, out.stderr).toBe(0);
  // "[HeapController] Limit: old size: 10888 KB, new limit: 25804 KB (2.0)"
  return [...`${out.stdout}${out.stderr}`.matchAll(/\[HeapController\] Limit: .*\((\d+\.\d)\)/g)].map((m) => m[1]!);
}

describe("heap growth", () => {
  it("sets the old generation's limit to (1 + percent/100) × the live heap after each full GC", () => {
    const factor = (1 + HEAP_GROWING_PERCENT / 100).toFixed(1);
    const tuned = limitFactors(true);
    expect(tuned.length).toBeGreaterThan(0);
    expect(tuned.at(-1)).toBe(factor);
    // Without it V8 chooses its own factor (4.0 for a small fresh heap like this one).
    const untuned = limitFactors(false);
    expect(untuned.at(-1)).not.toBe(factor);
  }, 120_000);
});
