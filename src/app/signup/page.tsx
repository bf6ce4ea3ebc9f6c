import type { Metadata } from "next";
import { redirect } from "next/navigation";
import { SignUpForm } from "~/app/_components/auth-forms";
import { serverTrpc } from "~/trpc/server";

export const metadata: Metadata = { title: "Create account" };
export const dynamic = "force-dynamic";

export default async function SignUpPage() {
  const { actor } = await serverTrpc();
  if (actor) redirect("/");
  return (
    <main className="auth-page">
      <div className="auth-brand">filestore</div>
      <SignUpForm />
    </main>
  );
}
