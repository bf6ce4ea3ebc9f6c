import { connect } from "amqplib";

/** Deletes the queues and exchanges a run with this AMQP prefix declared (delay queues included). */
export async function deleteBrokerNames(amqpUrl: string, prefix: string, delays: number[] = [100, 200, 250, 300, 400, 500, 800, 1000, 1500, 2000, 3000, 4000, 5000, 30000, 120000, 600000, 1800000]): Promise<void> {
  const conn = await connect(amqpUrl);
  try {
    const ch = await conn.createChannel();
    ch.on("error", () => undefined);
    for (const q of [`${prefix}.jobs`, `${prefix}.jobs.retry`, `${prefix}.jobs.dead`, ...delays.map((d) => `${prefix}.jobs.delay.${d}`)]) {
      await ch.deleteQueue(q);
    }
    for (const x of [`${prefix}.work`, `${prefix}.retry`, `${prefix}.dead`]) await ch.deleteExchange(x);
  } finally {
    await conn.close().catch(() => undefined);
  }
}
