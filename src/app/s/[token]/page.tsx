import type { Metadata } from "next";
import { ShareView } from "../_components/share-view";

// The public page of a share link (/s/{token}): works signed out. Everything it shows comes from
// share.open, called by the client component (the password cookie lives in the browser).

export const metadata: Metadata = { title: "Shared with you", robots: { index: false, follow: false } };

export default async function SharePage({ params }: { params: Promise<{ token: string }> }) {
  const { token } = await params;
  return <ShareView token={token} />;
}
