// Checks that MariaDB, Redis and RabbitMQ answer on their configured addresses, and says which one
// does not and how to point at it, instead of a stack trace from deep inside a client library.
import net from "node:net";

const services = [
  { name: "MariaDB", variable: "DATABASE_URL", fallback: "mysql://root@127.0.0.1:3306/filestore", port: 3306 },
  { name: "Redis", variable: "REDIS_URL", fallback: "redis://127.0.0.1:6379", port: 6379 },
  { name: "RabbitMQ", variable: "AMQP_URL", fallback: "amqp://guest:guest@127.0.0.1:5672", port: 5672 },
];

function reachable(host, port, timeoutMs = 3000) {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok, why) => {
      socket.destroy();
      resolve({ ok, why });
    };
    socket.setTimeout(timeoutMs, () => done(false, `no answer within ${timeoutMs} ms`));
    socket.once("connect", () => done(true));
    socket.once("error", (e) => done(false, e.code ?? e.message));
  });
}

/** Returns a list of human-readable problems (empty when every service answers). */
export async function checkServices(env = process.env) {
  const problems = [];
  for (const s of services) {
    const url = new URL(env[s.variable] || s.fallback);
    const host = url.hostname.replace(/^\[|\]$/g, "");
    const port = Number(url.port || s.port);
    const { ok, why } = await reachable(host, port);
    if (!ok) {
      problems.push(
        `${s.name} is not reachable at ${host}:${port} (${why}).\n` +
          `  Start it, or point ${s.variable} at yours, e.g. ${s.variable}=${s.fallback}`,
      );
    }
  }
  return problems;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const problems = await checkServices();
  if (problems.length) {
    console.error(problems.join("\n"));
    process.exit(1);
  }
  console.log("MariaDB, Redis and RabbitMQ are reachable");
}
