import { spawn, type ChildProcess } from "node:child_process";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { serverEnv } from "../../scripts/lib/server-env.mjs";

// Servers under test run as child processes (tsx), so the benchmark client never shares their
// event loop or CPU accounting, and their memory can be read from /proc.

export interface ChildServer {
  baseUrl: string;
  child: ChildProcess;
  /** VmHWM (peak resident set) and VmRSS of the server process, in bytes. */
  memory(): Promise<{ peak: number; rss: number }>;
  /** The server's own account of its memory (V8 heap, external buffers), one line; app-server only. */
  memoryBreakdown(): Promise<string>;
  stop(): Promise<void>;
}

const children = new Set<ChildServer>();

/** Stops every child server still running (call from the benchmark's finally). */
export async function stopChildren(): Promise<void> {
  await Promise.all([...children].map((c) => c.stop()));
}

export async function startChild(script: "app-server.ts" | "baseline-server.ts", env: Record<string, string> = {}): Promise<ChildServer> {
  // BENCH_CPU_PROF=<dir>: the server writes a V8 CPU profile there when it stops (open in Chrome DevTools).
  const prof = process.env.BENCH_CPU_PROF ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
  const child = spawn(process.execPath, [...prof, "--import", "tsx", path.join(import.meta.dirname, script)], {
    env: { ...serverEnv(), ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (b: Buffer) => {
      out += b.toString();
      const m = /READY (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once("exit", (code) => reject(new Error(`${script} exited with ${code} before it was ready`)));
  });
  const lines: Array<(line: string) => void> = [];
  let pending = "";
  child.stdout!.on("data", (b: Buffer) => {
    pending += b.toString();
    let nl: number;
    while ((nl = pending.indexOf("\n")) >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      for (const l of lines.splice(0)) l(line);
    }
  });
  const server: ChildServer = {
    baseUrl: `http://127.0.0.1:${port}`,
    child,
    async memory() {
      const status = await readFile(`/proc/${child.pid}/status`, "utf8");
      const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) * 1024;
      return { peak: kb("VmHWM"), rss: kb("VmRSS") };
    },
    memoryBreakdown() {
      return new Promise<string>((resolve) => {
        const wait = (line: string) => (line.startsWith("MEMORY ") ? resolve(line.slice(7)) : lines.push(wait));
        lines.push(wait);
        child.kill("SIGUSR2");
      });
    },
    async stop() {
      children.delete(server);
      if (child.exitCode !== null) return;
      child.kill("SIGTERM");
      await new Promise((r) => child.once("exit", r));
    },
  };
  children.add(server);
  return server;
}
