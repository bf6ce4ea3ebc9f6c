import type { Metadata } from "next";
import { AccountFrame } from "~/app/_accounts/account-frame";
import { AdminInvites } from "~/app/_accounts/admin-invites";
import { AdminUsers } from "~/app/_accounts/admin-users";
import { requireMe } from "~/app/_components/signed-in";

export const metadata: Metadata = { title: "Admin" };
export const dynamic = "force-dynamic";

export default async function AdminPage() {
  const me = await requireMe("/admin");
  if (me.role !== "admin") {
    return (
      <AccountFrame me={me} title="Admin">
        <div className="notice error" role="alert" data-testid="not-admin">
          Only the drive&apos;s administrators can see this page.
        </div>
      </AccountFrame>
    );
  }
  return (
    <AccountFrame me={me} title="Admin" wide>
      <AdminUsers selfId={me.id} />
      <AdminInvites />
    </AccountFrame>
  );
}
