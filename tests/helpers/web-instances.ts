import { existsSync } from "node:fs";
import path from "node:path";
import { createTRPCClient, httpLink } from "@trpc/client";
import superjson from "superjson";
import type { AppRouter } from "~/server/trpc/root";
import { freePort } from "./browser";
import { projectRoot, spawnTsx, type Spawned } from "./processes";

export { until } from "./processes";

// Web instances as an operator runs them: src/server/main.ts (the production build, JSON logs),
// each its own process on its own port, sharing the test run's MariaDB, Redis, RabbitMQ and storage.

export interface WebInstance {
  name: string;
  port: number;
  baseUrl: string;
  process: Spawned;
  /** The JSON log records the instance wrote so far. */
  records(): Array<Record<string, unknown>>;
  /** Starts the instance again on the same port after it stopped. */
  restart(): Promise<void>;
}

export async function startWebInstance(name: string, env: Record<string, string> = {}, port?: number): Promise<WebInstance> {
  if (!existsSync(path.join(projectRoot, ".next/BUILD_ID"))) {
    throw new Error("No production build in .next: run `npm run build` first (scripts/test.sh does)");
  }
  const p = port ?? (await freePort());
  const spawnIt = async () => {
    const child = spawnTsx("src/server/main.ts", {
      NODE_ENV: "production",
      LOG_FORMAT: "json",
      HOST: "127.0.0.1",
      PORT: String(p),
      ...env,
    });
    await child.waitFor(/listening on/, 120_000);
    return child;
  };
  const instance: WebInstance = {
    name,
    port: p,
    baseUrl: `http://127.0.0.1:${p}`,
    process: await spawnIt(),
    records() {
      const out: Array<Record<string, unknown>> = [];
      for (const line of instance.process.output().split("\n")) {
        if (!line.startsWith("{")) continue;
        try {
          out.push(JSON.parse(line));
        } catch {
          /* a partial line */
        }
      }
      return out;
    },
    async restart() {
      instance.process = await spawnIt();
    },
  };
  return instance;
}

export type DriveClient = ReturnType<typeof trpcAt>;

/** A typed tRPC client for the drive at `baseUrl`, sending `headers` (bearer token or cookie). */
export function trpcAt(baseUrl: string, headers: Record<string, string> = {}) {
  return createTRPCClient<AppRouter>({
    links: [httpLink({ url: `${baseUrl}/api/trpc`, transformer: superjson, headers })],
  });
}

