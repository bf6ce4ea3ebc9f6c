// Runs the web server and the worker on one machine (`npm start`) and keeps them running.
// Plain Node with no dependencies (it starts before anything else is known to work).
//
// Rules:
// - The web server is what users see: nothing that happens to the worker stops it. A web process
//   that exits after it was serving is restarted; one that exits before it ever served (bad
//   configuration, a port in use) stops everything with its exit code, instead of looping.
// - The worker is restarted whenever it exits (a crash; a broker outage does not make it exit, it
//   reconnects by itself: src/worker/consume-loop.ts), after a delay that doubles with each quick failure
//   (1 s, 2 s, 4 s … 30 s) and starts again from 1 s once a run lasted a minute.
// - SIGTERM / SIGINT: restarts stop, the signal goes to both children (each drains and closes its
//   connections: src/server/main.ts, src/worker/main.ts), and the supervisor exits once both have,
//   killing what is left after `stopTimeoutMs`.
import { spawn } from "node:child_process";
import path from "node:path";
import { workerNodeArgs } from "./build-worker.mjs";
import { serverEnv } from "./server-env.mjs";

const root = path.resolve(import.meta.dirname, "../..");

/**
 * The default pair, one process each (signals reach them directly): the web server through tsx's
 * loader; the worker from `workerBundle` when given (npm start builds it: scripts/lib/build-worker.mjs),
 * else through tsx as well.
 */
export function defaultProcesses(env = process.env, { workerBundle } = {}) {
  return [
    { name: "web", args: ["--import", "tsx", "src/server/main.ts"], env: serverEnv(env), essential: true },
    { name: "worker", args: [...workerNodeArgs, ...(workerBundle ? [workerBundle] : ["--import", "tsx", "src/worker/main.ts"])], env: serverEnv(env), essential: false },
  ];
}

export function supervise({
  processes = defaultProcesses(),
  cwd = root,
  initialDelayMs = 1_000,
  maxDelayMs = 30_000,
  resetAfterMs = 60_000,
  stopTimeoutMs = 45_000,
  say = (line) => process.stderr.write(`[supervisor] ${line}\n`),
  exit = (code) => process.exit(code),
} = {}) {
  let stopping = false;
  const slots = processes.map((spec) => ({ spec, child: null, failures: 0, timer: null, ready: false, startedAt: 0 }));

  function start(slot) {
    slot.timer = null;
    if (stopping) return;
    slot.ready = false;
    slot.startedAt = Date.now();
    const child = spawn(process.execPath, slot.spec.args, {
      cwd,
      env: slot.spec.env,
      stdio: ["inherit", "inherit", "inherit", "ipc"],
    });
    slot.child = child;
    child.on("message", (m) => {
      if (m && typeof m === "object" && m.filestore === "ready") {
        slot.ready = true;
        slot.everReady = true;
      }
    });
    child.once("exit", (code, signal) => onExit(slot, code, signal));
  }

  function onExit(slot, code, signal) {
    slot.child = null;
    const ranMs = Date.now() - slot.startedAt;
    const how = signal ? `signal ${signal}` : `code ${code}`;
    if (stopping) {
      say(`${slot.spec.name} stopped (${how})`);
      maybeDone();
      return;
    }
    if (slot.spec.essential && !slot.everReady) {
      say(`${slot.spec.name} exited (${how}) before it was ready: stopping`);
      stopAll(code || 1);
      return;
    }
    slot.failures = ranMs >= resetAfterMs ? 0 : slot.failures + 1;
    const delay = Math.min(maxDelayMs, initialDelayMs * 2 ** Math.max(0, slot.failures - 1));
    say(`${slot.spec.name} exited (${how}) after ${(ranMs / 1000).toFixed(1)} s; restarting in ${(delay / 1000).toFixed(1)} s`);
    slot.timer = setTimeout(() => start(slot), delay);
  }

  let exitCode = 0;
  let killTimer = null;
  function maybeDone() {
    if (slots.every((s) => s.child === null)) {
      clearTimeout(killTimer);
      exit(exitCode);
    }
  }

  function stopAll(code = 0, signal = "SIGTERM") {
    if (stopping) return;
    stopping = true;
    exitCode = code;
    for (const s of slots) {
      clearTimeout(s.timer);
      s.timer = null;
      s.child?.kill(signal);
    }
    killTimer = setTimeout(() => {
      for (const s of slots) if (s.child) {
        say(`${s.spec.name} did not stop within ${stopTimeoutMs / 1000} s: killing it`);
        s.child.kill("SIGKILL");
      }
    }, stopTimeoutMs);
    killTimer.unref?.();
    maybeDone();
  }

  for (const slot of slots) start(slot);
  return {
    stop: (signal = "SIGTERM") => stopAll(0, signal),
    pids: () => Object.fromEntries(slots.map((s) => [s.spec.name, s.child?.pid ?? null])),
  };
}

// `node scripts/lib/supervisor.mjs`: the web server and the worker, supervised (npm start's last step).
if (import.meta.url === `file://${process.argv[1]}`) {
  const running = supervise();
  process.on("SIGTERM", () => running.stop("SIGTERM"));
  process.on("SIGINT", () => running.stop("SIGINT"));
  // Tests and operators can ask which pids are current.
  process.on("SIGUSR2", () => process.stderr.write(`[supervisor] pids ${JSON.stringify(running.pids())}\n`));
}
