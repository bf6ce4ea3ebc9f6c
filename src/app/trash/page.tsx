import type { Metadata } from "next";
import { requireMe } from "~/app/_components/signed-in";
import { AppShell } from "~/app/_components/shell";
import { TrashView } from "~/app/_components/trash-view";
import { env } from "~/env";

export const metadata: Metadata = { title: "Trash" };
export const dynamic = "force-dynamic";

export default async function TrashPage() {
  const me = await requireMe("/trash");
  return (
    <AppShell me={me} section="trash">
      <TrashView retentionDays={env.TRASH_RETENTION_DAYS} />
    </AppShell>
  );
}
