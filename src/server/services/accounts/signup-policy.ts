import { env } from "~/env";
import { hasNoAccounts } from "~/server/services/users";

/** SIGNUP_MODE, as the sign-up page shows it. `firstAccount`: the next account is the drive's first (and admin). */
export async function signupPolicy(): Promise<{ mode: "open" | "invite" | "closed"; firstAccount: boolean }> {
  return { mode: env.SIGNUP_MODE, firstAccount: await hasNoAccounts() };
}
