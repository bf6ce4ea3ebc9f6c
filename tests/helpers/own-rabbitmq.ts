import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";

// A RabbitMQ node of the test's own (its own name, ports, data and log directories, no plugins),
// for tests that stop and restart the broker: the shared broker on 5672 is never touched. Uses the
// Debian package's server scripts directly, as the current user, with a HOME of its own (its Erlang
// cookie). Durable queues and persistent messages live in its data directory, so they survive a
// stop/start like a real broker restart. Always call destroy() (afterAll), which kills what it started.

const BIN = "/usr/lib/rabbitmq/bin";

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface OwnRabbit {
  url: string;
  node: string;
  start(): Promise<void>;
  /** Stops the whole node (like a broker going away), keeping its data. */
  stop(): Promise<void>;
  destroy(): Promise<void>;
}

export async function createOwnRabbit(label: string): Promise<OwnRabbit> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `fs-rabbit-${label}-`));
  const [amqpPort, distPort] = [await freePort(), await freePort()];
  const node = `fs${label}${randomBytes(3).toString("hex")}@localhost`;
  await Promise.all(["mnesia", "log", "home"].map((d) => mkdir(path.join(dir, d), { recursive: true })));
  await writeFile(path.join(dir, "enabled_plugins"), "[].\n");
  await writeFile(path.join(dir, "rabbitmq.conf"), `listeners.tcp.default = 127.0.0.1:${amqpPort}\nloopback_users = none\n`);
  const env = {
    ...process.env,
    HOME: path.join(dir, "home"),
    RABBITMQ_NODENAME: node,
    RABBITMQ_NODE_PORT: String(amqpPort),
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_MNESIA_BASE: path.join(dir, "mnesia"),
    RABBITMQ_LOG_BASE: path.join(dir, "log"),
    RABBITMQ_CONFIG_FILE: path.join(dir, "rabbitmq.conf"),
    RABBITMQ_ENABLED_PLUGINS_FILE: path.join(dir, "enabled_plugins"),
  };
  let child: ChildProcess | null = null;
  let output = "";
  const ctl = (args: string[], timeoutMs = 30_000) =>
    spawnSync(path.join(BIN, "rabbitmqctl"), ["-n", node, ...args], { env, encoding: "utf8", timeout: timeoutMs });

  async function start() {
    output = "";
    child = spawn(path.join(BIN, "rabbitmq-server"), [], { env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout!.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (output += d.toString()));
    const deadline = Date.now() + 120_000;
    for (;;) {
      if (ctl(["await_startup"], 15_000).status === 0) return;
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`own RabbitMQ ${node} did not start:\n${output.slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  async function stop() {
    if (!child) return;
    const running = child;
    child = null;
    ctl(["stop"], 60_000);
    const exited = running.exitCode !== null || (await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 20_000);
      running.once("exit", () => {
        clearTimeout(timer);
        resolve(true);
      });
    }));
    if (!exited && running.pid) {
      try {
        process.kill(-running.pid, "SIGKILL"); // the process group this helper started, nothing else
      } catch {
        /* gone */
      }
    }
  }

  return {
    url: `amqp://guest:guest@127.0.0.1:${amqpPort}`,
    node,
    start,
    stop,
    async destroy() {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
