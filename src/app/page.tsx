import { Drive } from "~/app/_components/drive";
import { requireMe } from "~/app/_components/signed-in";
import { env } from "~/env";

export const dynamic = "force-dynamic";

type SearchParams = Promise<Record<string, string | string[] | undefined>>;

/** The drive: `/` is the root, `/?folder=<id>` a folder inside it. */
export default async function DrivePage({ searchParams }: { searchParams: SearchParams }) {
  const params = await searchParams;
  const folder = Array.isArray(params.folder) ? params.folder[0] : params.folder;
  const folderId = folder && folder.length <= 64 ? folder : null;
  const me = await requireMe(folderId ? `/?folder=${encodeURIComponent(folderId)}` : "/");
  return <Drive me={me} folderId={folderId} retentionDays={env.TRASH_RETENTION_DAYS} />;
}
