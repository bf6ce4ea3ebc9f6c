import { FilestoreClient } from "../../src/client";

// The benchmarks' typed calls go through the scripts' client (src/client), like any script's.

/** A typed client for a bench server child, acting with the given headers (e.g. a bearer token). */
export function benchClient(baseUrl: string, headers: Record<string, string>): FilestoreClient {
  return new FilestoreClient({ url: baseUrl, headers });
}

/** The typed tRPC proxy (`api.upload.init.mutate(…)`) of benchClient. */
export function trpcClient(baseUrl: string, headers: Record<string, string>) {
  return benchClient(baseUrl, headers).trpc;
}
