import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

// A private redis-server for tests that must flush, stop or restart Redis: never the shared one
// (other test runs use it at the same time). No persistence, like a cache-only Redis: a restart
// forgets everything. Stopped by `stop()` (call it in afterAll) and, as a last resort, when the
// test process exits.

export interface PrivateRedis {
  url: string;
  port: number;
  /** redis-cli against this instance, e.g. `cli("FLUSHALL")`. */
  cli: (...args: string[]) => Promise<string>;
  /** SIGKILL and start again on the same port: everything in memory is gone. */
  restart: () => Promise<void>;
  /** Stops it (restart() starts it again). */
  kill: () => Promise<void>;
  stop: () => Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      const port = typeof address === "object" && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

function run(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    child.once("error", reject);
    child.once("exit", (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`${command} ${args.join(" ")}: ${out}`))));
  });
}

export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  const dir = await mkdtemp(path.join(os.tmpdir(), "fs-test-redis-"));
  let child: ChildProcess | null = null;
  const cli = (...args: string[]) => run("redis-cli", ["-p", String(port), ...args]);

  const start = async () => {
    child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir], {
      stdio: "ignore",
    });
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        if ((await cli("PING")) === "PONG") return;
      } catch {
        // not up yet
      }
      if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not start`);
      await sleep(50);
    }
  };
  const kill = async () => {
    const running = child;
    child = null;
    if (!running || running.exitCode !== null) return;
    const exited = new Promise((resolve) => running.once("exit", resolve));
    running.kill("SIGKILL");
    await exited;
  };
  const onExit = () => child?.kill("SIGKILL");
  process.once("exit", onExit);

  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    cli,
    kill,
    async restart() {
      await kill();
      await start();
    },
    async stop() {
      await kill();
      process.removeListener("exit", onExit);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
