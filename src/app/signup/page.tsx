import type { Metadata } from "next";
import { redirect } from "next/navigation";
import { SignUpForm } from "~/app/_components/auth-forms";
import { serverTrpc } from "~/trpc/server";

export const metadata: Metadata = { title: "Create account" };
export const dynamic = "force-dynamic";

type SearchParams = Promise<Record<string, string | string[] | undefined>>;

export default async function SignUpPage({ searchParams }: { searchParams: SearchParams }) {
  const { actor, caller } = await serverTrpc();
  if (actor) redirect("/");
  const params = await searchParams;
  const invite = Array.isArray(params.invite) ? params.invite[0] : params.invite;
  const policy = await caller.auth.signupPolicy();
  return (
    <main className="auth-page">
      <div className="auth-brand">filestore</div>
      <SignUpForm policy={policy} invite={invite && invite.length <= 64 ? invite : undefined} />
    </main>
  );
}
