import type { Metadata } from "next";
import { ForgotPasswordForm } from "~/app/_accounts/password-reset-forms";

export const metadata: Metadata = { title: "Forgot password" };
export const dynamic = "force-dynamic";

export default function ForgotPasswordPage() {
  return (
    <main className="auth-page">
      <div className="auth-brand">filestore</div>
      <ForgotPasswordForm />
    </main>
  );
}
