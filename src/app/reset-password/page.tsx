import type { Metadata } from "next";
import { ResetPasswordForm } from "~/app/_accounts/password-reset-forms";

export const metadata: Metadata = { title: "Reset password", referrer: "no-referrer" };
export const dynamic = "force-dynamic";

type SearchParams = Promise<Record<string, string | string[] | undefined>>;

/** /reset-password?token=… from the reset mail. The page never sends the token elsewhere (no referrer). */
export default async function ResetPasswordPage({ searchParams }: { searchParams: SearchParams }) {
  const params = await searchParams;
  const token = Array.isArray(params.token) ? params.token[0] : params.token;
  return (
    <main className="auth-page">
      <div className="auth-brand">filestore</div>
      <ResetPasswordForm token={token && token.length <= 128 ? token : null} />
    </main>
  );
}
