import path from "node:path";
import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: {
    alias: { "~": path.resolve(import.meta.dirname, "src") },
  },
  test: {
    include: ["tests/**/*.test.ts"],
    // One database, Redis prefix, broker prefix and storage directory per run (see global-setup.ts).
    globalSetup: ["tests/helpers/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // expect.poll gives up after 1 s by default: a page that renders its listing after a navigation
    // took longer than that under a loaded CI machine (browser-drive "moves the file…" failed once).
    expect: { poll: { timeout: 20_000 } },
    pool: "forks",
    maxWorkers: 2,
    reporters: ["default"],
  },
});
