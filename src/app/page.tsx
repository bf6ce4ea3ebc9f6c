import { TRPCError } from "@trpc/server";
import { redirect } from "next/navigation";
import { Drive } from "~/app/_components/drive";
import { serverTrpc } from "~/trpc/server";

export const dynamic = "force-dynamic";

export default async function DrivePage() {
  const { actor, caller } = await serverTrpc();
  if (!actor) redirect("/signin");
  let me;
  try {
    me = await caller.user.me();
  } catch (e) {
    // the account behind a still-valid session is gone
    if (e instanceof TRPCError && e.code === "UNAUTHORIZED") redirect("/signin");
    throw e;
  }
  return <Drive me={me} />;
}
