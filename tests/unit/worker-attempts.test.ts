import type { ConsumeMessage } from "amqplib";
import { describe, expect, it } from "vitest";
import { topology } from "~/server/queue/topology";
import { attemptsSoFar } from "~/worker/consumer";

function message(headers: Record<string, unknown>): ConsumeMessage {
  return { content: Buffer.from("{}"), fields: {} as never, properties: { headers } as never };
}

describe("attemptsSoFar", () => {
  it("is 0 for a first delivery", () => {
    expect(attemptsSoFar(message({}))).toBe(0);
  });

  it("counts rejections by the jobs queue, not the retry queue's expiries", () => {
    const m = message({
      "x-death": [
        { queue: topology.retryQueue, reason: "expired", count: 3 },
        { queue: topology.jobsQueue, reason: "rejected", count: 3 },
      ],
    });
    expect(attemptsSoFar(m)).toBe(3);
  });
});
