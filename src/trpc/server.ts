import { headers } from "next/headers";
import { createCaller } from "~/server/trpc/root";
import { createTrpcContext, type TrpcContext } from "~/server/trpc/trpc";

/**
 * tRPC for server components: a caller acting as whoever made the current request (session cookie
 * or bearer token), and that actor (null when signed out).
 */
export async function serverTrpc(): Promise<{ actor: TrpcContext["actor"]; caller: ReturnType<typeof createCaller> }> {
  const ctx = await createTrpcContext({ headers: new Headers(await headers()) });
  return { actor: ctx.actor, caller: createCaller(ctx) };
}
