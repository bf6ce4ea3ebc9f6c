import type { ChannelModel, ConfirmChannel } from "amqplib";
import { openConfirmChannel } from "~/server/queue/connection";
import { topology } from "~/server/queue/topology";
import { handleMessage } from "./consumer";
import { logger } from "~/server/log";

const log = logger("worker");

// The worker's connection to the jobs queue, kept open for as long as the worker runs: when the
// broker goes away (stopped, restarted, network) the loop reconnects with growing delays (0.5 s
// doubling to 30 s, with jitter) instead of exiting, re-declares the topology and consumes again.
// Messages that were unacked when the connection dropped are redelivered by the broker and find
// their outbox rows done (or leased) if a handler finished meanwhile.

export interface Consumer {
  inFlight(): number;
  /** Stops consuming, waits up to `drainMs` for handlers, then gives the rest back and closes. */
  stop(drainMs: number): Promise<void>;
}

const MIN_BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 30_000;

function backoff(attempt: number): number {
  const ms = Math.min(MAX_BACKOFF_MS, MIN_BACKOFF_MS * 2 ** Math.min(attempt, 16));
  return Math.round(ms * (0.75 + Math.random() * 0.5));
}

export function startConsumer(options: { prefetch: number }): Consumer {
  const running = new Set<Promise<void>>();
  const shutdown = new AbortController();
  let stopping = false;
  let current: { conn: ChannelModel; channel: ConfirmChannel; consumerTag: string } | null = null;
  let wake: (() => void) | null = null;

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wake = null;
        resolve();
      }
      wake = done;
    });

  const loop = (async () => {
    let failures = 0;
    while (!stopping) {
      try {
        const { conn, channel } = await openConfirmChannel("worker");
        const closed = new Promise<void>((resolve) => {
          conn.once("close", () => resolve());
          channel.once("close", () => resolve());
        });
        await channel.prefetch(options.prefetch);
        const { consumerTag } = await channel.consume(topology.jobsQueue, (msg) => {
          if (!msg) {
            // The broker cancelled the consumer (the queue was deleted): reconnect, which declares it again.
            void channel.close().catch(() => undefined);
            return;
          }
          const p = handleMessage({ channel, msg }, shutdown.signal).catch((e: unknown) =>
            log.error({ err: e }, "handling a message failed unexpectedly"),
          );
          running.add(p);
          void p.finally(() => running.delete(p));
        });
        current = { conn, channel, consumerTag };
        if (failures > 0) log.info(`reconnected to RabbitMQ after ${failures} failed attempt(s)`);
        failures = 0;
        log.info(`consuming ${topology.jobsQueue} (prefetch ${options.prefetch})`);
        await closed;
        current = null;
        if (!stopping) log.warn("lost the RabbitMQ connection; reconnecting (new jobs wait in the outbox meanwhile)");
      } catch (e) {
        current = null;
        if (stopping) break;
        failures++;
        const delay = backoff(failures);
        if (failures === 1 || failures % 10 === 0) {
          log.warn(`cannot reach RabbitMQ (${e instanceof Error ? e.message : e}); retrying in ${(delay / 1000).toFixed(1)} s (attempt ${failures})`);
        }
        await sleep(delay);
      }
    }
  })();

  return {
    inFlight: () => running.size,
    async stop(drainMs) {
      stopping = true;
      wake?.();
      const now = current;
      if (now) await now.channel.cancel(now.consumerTag).catch(() => undefined);
      const drained = await Promise.race([
        Promise.allSettled([...running]).then(() => true),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(false), drainMs).unref()),
      ]);
      if (!drained) {
        log.warn(`${running.size} job(s) still running after ${drainMs / 1000} s: giving them back`);
        shutdown.abort(new Error("the worker is shutting down"));
        await Promise.allSettled([...running]);
      }
      const closing = current;
      if (closing) await closing.conn.close().catch(() => undefined);
      await loop;
    },
  };
}
