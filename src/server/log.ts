import { AsyncLocalStorage } from "node:async_hooks";
import { randomUUID } from "node:crypto";
import pino, { type Logger } from "pino";
import { PinoPretty } from "pino-pretty";
import { env } from "~/env";

// The one logger of the web process and the worker (pino). Production writes one JSON object per
// line to stdout (what log shippers read); development writes the same records as readable lines
// (pino-pretty as a plain stream in this thread: no worker-thread transport, which would not
// survive bundling). LOG_FORMAT and LOG_LEVEL override (README, "Configuration").
//
// Context: the custom server runs every request inside `withLogContext({ requestId })` and the
// worker every job inside `withLogContext({ jobId, job })`; pino's mixin adds whatever the current
// async context holds to each record. So a service several calls deep logs the request id or job
// id without any function signature carrying it.

export interface LogContext {
  requestId?: string;
  jobId?: string;
  job?: string;
  [key: string]: unknown;
}

// On globalThis: the custom server and Next's compiled route bundle are separate copies of this
// module, and a request the server put in a context must be seen in that context by both.
const shared = globalThis as unknown as { filestoreLogContext?: AsyncLocalStorage<LogContext>; filestoreLogger?: Logger };
const contextStore = (shared.filestoreLogContext ??= new AsyncLocalStorage<LogContext>());

/** Runs `fn` with `context` added to every log record written inside it (also across awaits). */
export function withLogContext<T>(context: LogContext, fn: () => T): T {
  const outer = contextStore.getStore();
  return contextStore.run(outer ? { ...outer, ...context } : context, fn);
}

/** The log context of the current request or job (empty outside one). */
export function logContext(): LogContext {
  return contextStore.getStore() ?? {};
}

/** The request id of the current request, if any. */
export function currentRequestId(): string | undefined {
  return contextStore.getStore()?.requestId;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{8,128}$/;

/**
 * The id of an incoming request: the one a trusted proxy gave (nginx's `$request_id` in
 * X-Request-Id, so the proxy's log and ours join up), else a new one. A client-chosen id is only
 * taken with TRUST_PROXY, and only when it looks like an id (no log injection).
 */
export function requestIdFrom(header: string | null | undefined, trustProxy = env.TRUST_PROXY): string {
  if (trustProxy && header && REQUEST_ID.test(header)) return header;
  return randomUUID();
}

function createLogger(): Logger {
  const pretty = (env.LOG_FORMAT ?? (env.NODE_ENV === "development" ? "pretty" : "json")) === "pretty";
  const options: pino.LoggerOptions = {
    level: env.LOG_LEVEL,
    base: { pid: process.pid },
    mixin: () => contextStore.getStore() ?? {},
    serializers: { err: pino.stdSerializers.err, error: pino.stdSerializers.err },
  };
  if (!pretty) return pino(options);
  return pino(options, PinoPretty({ colorize: process.stdout.isTTY, translateTime: "HH:MM:ss.l", ignore: "pid,hostname", sync: true }));
}

/** The root logger; `logger("uploads")` for a part of the system. */
export const log: Logger = (shared.filestoreLogger ??= createLogger());

/** A logger for one part of the system: every record carries `component`. */
export function logger(component: string): Logger {
  return log.child({ component });
}
