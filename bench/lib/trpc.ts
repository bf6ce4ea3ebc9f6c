import { createTRPCClient, httpLink } from "@trpc/client";
import superjson from "superjson";
import type { AppRouter } from "../../src/server/trpc/root";

/** A tRPC client for a bench server child, acting with the given headers. */
export function trpcClient(baseUrl: string, headers: Record<string, string>) {
  return createTRPCClient<AppRouter>({
    links: [httpLink({ url: `${baseUrl}/api/trpc`, transformer: superjson, headers })],
  });
}
