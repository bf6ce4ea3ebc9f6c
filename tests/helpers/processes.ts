import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";

export const projectRoot = path.resolve(import.meta.dirname, "../..");

export interface Spawned {
  child: ChildProcess;
  output: () => string;
  /** Resolves with the first output line matching `pattern`, or rejects on exit/timeout. */
  waitFor: (pattern: RegExp, timeoutMs?: number) => Promise<string>;
  /** Sends a signal and resolves with the exit code. */
  stop: (signal?: NodeJS.Signals, timeoutMs?: number) => Promise<number | null>;
}

/**
 * Starts `<script>` under node with tsx's loader (`node --import tsx`), with the test run's
 * environment plus `env`, capturing its output. One process, not the tsx CLI (which runs the script
 * in a child of its own): a signal, SIGKILL included, reaches the script itself and leaves nothing
 * running after the test.
 */
export function spawnTsx(script: string, env: Record<string, string | undefined> = {}): Spawned {
  const child = spawn(process.execPath, ["--import", "tsx", script], {
    cwd: projectRoot,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  const waiters = new Set<() => void>();
  const onData = (d: Buffer) => {
    out += d.toString("utf8");
    for (const w of waiters) w();
  };
  child.stdout!.on("data", onData);
  child.stderr!.on("data", onData);
  let exited: number | null | undefined;
  const exitPromise = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => {
      exited = code;
      for (const w of waiters) w();
      resolve(code);
    }),
  );
  return {
    child,
    output: () => out,
    waitFor(pattern, timeoutMs = 120_000) { // a process starting under tsx on a loaded 2-core machine takes tens of seconds
      return new Promise((resolve, reject) => {
        const check = () => {
          const line = out.split("\n").find((l) => pattern.test(l));
          if (line !== undefined) return done(() => resolve(line));
          if (exited !== undefined) done(() => reject(new Error(`process exited (${exited}) before ${pattern}:\n${out}`)));
        };
        const timer = setTimeout(() => done(() => reject(new Error(`timed out waiting for ${pattern}:\n${out}`))), timeoutMs);
        const done = (fn: () => void) => {
          clearTimeout(timer);
          waiters.delete(check);
          fn();
        };
        waiters.add(check);
        check();
      });
    },
    async stop(signal = "SIGTERM", timeoutMs = 20_000) {
      if (exited !== undefined) return exited;
      child.kill(signal);
      const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
      const code = await exitPromise;
      clearTimeout(timer);
      return code;
    },
  };
}

/** Waits (bounded) until `fn` resolves true. */
export async function until(what: string, fn: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await fn().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
