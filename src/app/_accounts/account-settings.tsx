"use client";

import { api } from "~/trpc/react";
import { EmailSection } from "./email-section";
import { PasswordSection } from "./password-section";
import { TwoFactorSection } from "./two-factor-section";
import type { Me } from "./ui";

/** /account: email, password, two-factor sign-in. */
export function AccountSettings({ me: initialMe }: { me: Me }) {
  const me = api.user.me.useQuery(undefined, { initialData: initialMe }).data;
  return (
    <>
      <EmailSection me={me} />
      <PasswordSection />
      <TwoFactorSection me={me} />
    </>
  );
}
