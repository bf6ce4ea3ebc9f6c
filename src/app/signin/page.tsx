import type { Metadata } from "next";
import { redirect } from "next/navigation";
import { SignInForm } from "~/app/_components/auth-forms";
import { serverTrpc } from "~/trpc/server";

export const metadata: Metadata = { title: "Sign in" };
export const dynamic = "force-dynamic";

type SearchParams = Promise<Record<string, string | string[] | undefined>>;

export default async function SignInPage({ searchParams }: { searchParams: SearchParams }) {
  const { actor } = await serverTrpc();
  if (actor) redirect("/");
  const params = await searchParams;
  const first = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);
  // next-auth sends people back here with ?callbackUrl=...&error=... (a failed sign-in without
  // JavaScript, or a protected page). Only the path is kept: never follow to another site.
  let next: string | undefined;
  const callbackUrl = first(params.callbackUrl);
  if (callbackUrl) {
    try {
      const url = new URL(callbackUrl, "http://placeholder");
      next = `${url.pathname}${url.search}`;
    } catch {
      next = undefined;
    }
  }
  return (
    <main className="auth-page">
      <div className="auth-brand">filestore</div>
      <SignInForm
        next={next}
        initialError={first(params.error)}
        notice={first(params.reset) === "done" ? "Your password was changed. Sign in with the new one." : undefined}
      />
    </main>
  );
}
