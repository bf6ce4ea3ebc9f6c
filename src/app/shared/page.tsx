import type { Metadata } from "next";
import { requireMe } from "~/app/_components/signed-in";
import { AppShell } from "~/app/_components/shell";
import { SharedLinks } from "~/app/_components/shared-links";

export const metadata: Metadata = { title: "Shared links" };
export const dynamic = "force-dynamic";

export default async function SharedPage() {
  const me = await requireMe("/shared");
  return (
    <AppShell me={me} section="shared">
      <SharedLinks />
    </AppShell>
  );
}
