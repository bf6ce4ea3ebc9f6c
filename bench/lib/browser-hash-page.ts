// The benchmark page of bench/browser-hash.ts (bundled by esbuild, run in Chromium): hashes the
// file picked in its <input> with the hasher named, and reports the time, the digest and the
// longest stall of the page's main thread while it ran (a 10 ms timer that fires late).
import { createHashPool } from "../../src/app/_components/transfers/hash-pool";
import { sha256OfBlob } from "./sha256-ts";

declare global {
  interface Window {
    benchHash: (kind: "ts-main" | "wasm-worker") => Promise<{ ms: number; sha256: string; maxStallMs: number }>;
  }
}

window.benchHash = async (kind) => {
  const input = document.querySelector("input[type=file]") as HTMLInputElement;
  const file = input.files![0]!;
  let last = performance.now();
  let maxStallMs = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    maxStallMs = Math.max(maxStallMs, now - last - 10);
    last = now;
  }, 10);
  const pool = createHashPool(() => new Worker("/worker.js"), 1);
  const started = performance.now();
  try {
    const sha256 = kind === "ts-main" ? await sha256OfBlob(file) : await pool.hashBlob(file);
    return { ms: performance.now() - started, sha256, maxStallMs: Math.round(maxStallMs) };
  } finally {
    clearInterval(timer);
    pool.terminate();
  }
};
