import { TRPCError } from "@trpc/server";
import { redirect } from "next/navigation";
import { serverTrpc } from "~/trpc/server";

// Server-side only (imports the server caller).

/** The signed-in user's profile for a page, or a redirect to /signin (with a way back). */
export async function requireMe(returnTo: string) {
  const signin = returnTo === "/" ? "/signin" : `/signin?callbackUrl=${encodeURIComponent(returnTo)}`;
  const { actor, caller } = await serverTrpc();
  if (!actor) redirect(signin);
  try {
    return await caller.user.me();
  } catch (e) {
    // the account behind a still-valid session is gone
    if (e instanceof TRPCError && e.code === "UNAUTHORIZED") redirect(signin);
    throw e;
  }
}
