import { describe, expect, it } from "vitest";
import { delayQueueName, retryDelayMs, topology, transitQueues } from "~/server/queue/topology";

// Retry delays come from JOB_RETRY_DELAYS (default "5s,30s,2m,10m,30m"): retry n waits the nth
// delay, the last one repeats, and each distinct delay is a queue of its own.

describe("retry delays", () => {
  it("grow with the attempt and repeat the last", () => {
    const delays = topology.retryDelays;
    expect(delays.length).toBeGreaterThan(0);
    expect(retryDelayMs(1)).toBe(delays[0]);
    expect(retryDelayMs(delays.length)).toBe(delays.at(-1));
    expect(retryDelayMs(delays.length + 10)).toBe(delays.at(-1));
    for (let i = 1; i < delays.length; i++) expect(retryDelayMs(i + 1)).toBeGreaterThanOrEqual(retryDelayMs(i));
  });

  it("each delay has its own queue, and the transit queues name them all", () => {
    const names = transitQueues();
    expect(names).toContain(topology.jobsQueue);
    for (const ms of topology.retryDelays) expect(names).toContain(delayQueueName(ms));
    expect(new Set(names).size).toBe(names.length);
  });
});

describe("JOB_RETRY_DELAYS parsing", () => {
  it("reads durations with units and refuses nonsense", async () => {
    const load = async (value: string) => {
      process.env.JOB_RETRY_DELAYS = value;
      const { vi } = await import("vitest");
      vi.resetModules();
      return (await import("~/env")).env.JOB_RETRY_DELAYS;
    };
    const saved = process.env.JOB_RETRY_DELAYS;
    try {
      expect(await load("250ms, 5s,2m,1h")).toEqual([250, 5000, 120_000, 3_600_000]);
      expect(await load("1500")).toEqual([1500]);
      await expect(load("5 parsecs")).rejects.toThrow(/JOB_RETRY_DELAYS/);
      await expect(load("10")).rejects.toThrow(/JOB_RETRY_DELAYS/); // below 100 ms
    } finally {
      if (saved === undefined) delete process.env.JOB_RETRY_DELAYS;
      else process.env.JOB_RETRY_DELAYS = saved;
    }
  });
});
