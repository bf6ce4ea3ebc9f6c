import { connect as amqpConnect, type ChannelModel, type ConfirmChannel } from "amqplib";
import { env } from "~/env";
import { declareTopology } from "./topology";

const globalForQueue = globalThis as unknown as {
  filestoreQueue?: Promise<{ conn: ChannelModel; channel: ConfirmChannel }>;
};

async function connect() {
  const conn = await amqpConnect(env.AMQP_URL);
  const channel = await conn.createConfirmChannel();
  await declareTopology(channel);
  const reset = () => {
    globalForQueue.filestoreQueue = undefined;
  };
  conn.on("close", reset);
  conn.on("error", reset);
  return { conn, channel };
}

/** A lazily opened confirm channel for publishing; reconnects on the next call after a failure. */
export async function publisherChannel(): Promise<ConfirmChannel> {
  globalForQueue.filestoreQueue ??= connect().catch((e) => {
    globalForQueue.filestoreQueue = undefined;
    throw e;
  });
  return (await globalForQueue.filestoreQueue).channel;
}

export async function closeQueue(): Promise<void> {
  const q = globalForQueue.filestoreQueue;
  globalForQueue.filestoreQueue = undefined;
  if (q) await (await q).conn.close().catch(() => undefined);
}
