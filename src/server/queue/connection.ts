import { connect as amqpConnect, type ChannelModel, type ConfirmChannel, type Options } from "amqplib";
import { env } from "~/env";
import { declareTopology } from "./topology";

// Connections to RabbitMQ. The broker only runs background work, so nothing here may take a
// process down: every connection and channel has its error listeners (an EventEmitter 'error'
// without one would crash the process), and a lost connection is simply opened again on next use.

/** Seconds between AMQP heartbeats: a broker that vanished is noticed within about twice this. */
const HEARTBEAT_SECONDS = 10;
const CONNECT_TIMEOUT_MS = 5_000;

/** AMQP_URL with a heartbeat unless it names one. */
export function amqpUrl(url = env.AMQP_URL): string {
  const u = new URL(url);
  if (!u.searchParams.has("heartbeat")) u.searchParams.set("heartbeat", String(HEARTBEAT_SECONDS));
  return u.toString();
}

/** Opens a connection and a confirm channel with the topology declared; rejects within a few seconds when the broker is away. */
export async function openConfirmChannel(label: string, url = env.AMQP_URL): Promise<{ conn: ChannelModel; channel: ConfirmChannel }> {
  const conn = await amqpConnect(amqpUrl(url), { timeout: CONNECT_TIMEOUT_MS, clientProperties: { connection_name: `filestore ${label}` } } as Options.Connect);
  conn.on("error", () => undefined); // 'close' follows; callers watch that
  try {
    const channel = await conn.createConfirmChannel();
    channel.on("error", () => undefined);
    channel.setMaxListeners(0); // publishConfirmed listens for "close" once per message in flight
    await declareTopology(channel);
    return { conn, channel };
  } catch (e) {
    await conn.close().catch(() => undefined);
    throw e;
  }
}

const globalForQueue = globalThis as unknown as {
  filestoreQueue?: Promise<{ conn: ChannelModel; channel: ConfirmChannel }>;
};

/**
 * A lazily opened confirm channel for publishing (the outbox relay, health, operator commands);
 * opened again on the next call after the connection or channel closed.
 */
export async function publisherChannel(): Promise<ConfirmChannel> {
  globalForQueue.filestoreQueue ??= openConfirmChannel("publisher").then(
    (q) => {
      const reset = () => {
        if (globalForQueue.filestoreQueue === current) globalForQueue.filestoreQueue = undefined;
      };
      q.conn.on("close", reset);
      q.channel.on("close", reset);
      return q;
    },
    (e: unknown) => {
      globalForQueue.filestoreQueue = undefined;
      throw e;
    },
  );
  const current = globalForQueue.filestoreQueue;
  return (await current).channel;
}

export async function closeQueue(): Promise<void> {
  const q = globalForQueue.filestoreQueue;
  globalForQueue.filestoreQueue = undefined;
  if (q) await (await q.catch(() => null))?.conn.close().catch(() => undefined);
}

/**
 * Publishes and waits for the broker's confirm (the message is then on disk in a durable queue, or
 * routed nowhere): rejects on a nack, a closed channel, or no answer within `timeoutMs`.
 */
export function publishConfirmed(
  channel: ConfirmChannel,
  exchange: string,
  routingKey: string,
  content: Buffer,
  options: Options.Publish,
  timeoutMs = 10_000,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    const finish = (e?: unknown) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      channel.off("close", onClose);
      if (e) reject(e instanceof Error ? e : new Error(String(e)));
      else resolve();
    };
    const onClose = () => finish(new Error("the channel closed before the broker confirmed the message"));
    const timer = setTimeout(() => finish(new Error(`the broker did not confirm within ${timeoutMs} ms`)), timeoutMs);
    channel.once("close", onClose);
    try {
      channel.publish(exchange, routingKey, content, { persistent: true, ...options }, (err) =>
        finish(err ? new Error(`the broker refused the message: ${err instanceof Error ? err.message : String(err)}`) : undefined),
      );
    } catch (e) {
      finish(e);
    }
  });
}
