import { describe, expect, it } from "vitest";
// @ts-expect-error plain ESM script without types (it runs before npm ci)
import { checkServices } from "../../scripts/lib/services.mjs";

// `npm start` must name the service it cannot reach and the variable that points at it, instead of
// a stack trace.

describe("npm start preflight", () => {
  it("passes when MariaDB, Redis and RabbitMQ answer", async () => {
    expect(await checkServices({})).toEqual([]);
  });

  it("names each unreachable service and the variable to set", async () => {
    const problems: string[] = await checkServices({
      DATABASE_URL: "mysql://root@127.0.0.1:1/filestore",
      REDIS_URL: "redis://127.0.0.1:6379",
      AMQP_URL: "amqp://guest:guest@127.0.0.1:2",
    });
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/^MariaDB is not reachable at 127\.0\.0\.1:1 .*\n.*DATABASE_URL=/);
    expect(problems[1]).toMatch(/^RabbitMQ is not reachable at 127\.0\.0\.1:2 .*\n.*AMQP_URL=/);
  });
});
