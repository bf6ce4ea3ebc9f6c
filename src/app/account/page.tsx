import type { Metadata } from "next";
import { AccountFrame } from "~/app/_accounts/account-frame";
import { AccountSettings } from "~/app/_accounts/account-settings";
import { requireMe } from "~/app/_components/signed-in";

export const metadata: Metadata = { title: "Account" };
export const dynamic = "force-dynamic";

export default async function AccountPage() {
  const me = await requireMe("/account");
  return (
    <AccountFrame me={me} title="Account">
      <AccountSettings me={me} />
    </AccountFrame>
  );
}
