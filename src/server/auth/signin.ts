import { env } from "~/env";
import { DomainError } from "~/server/errors";
import { verifySecondFactor } from "~/server/services/accounts/two-factor";
import { createUser, credentialsSchema, findUserForSignin, hasNoAccounts, type Credentials } from "~/server/services/users";
import type { Actor } from "./actor";
import { verifyAgainstDummy, verifyPassword } from "./passwords";
import { startSession, type TokenPair } from "./sessions";
import { assertSigninAllowed, assertSignupAllowed, recordSigninFailure, recordSigninSuccess } from "./throttle";

// The sign-up and sign-in flows shared by tRPC (`auth.signup`, `auth.signin`) and the next-auth
// credentials provider, so the browser and scripts meet the same rules and the same throttles.

export interface RequestOrigin {
  /** The client address (ctx.clientIp); "unknown" when not known. */
  clientIp: string;
}

export type SignedIn = TokenPair & { actor: Actor; familyId: string };

/** Why a sign-in with the right password still failed: `data.reason` of the UNAUTHORIZED error. */
export const SIGNIN_REASON = {
  otpRequired: "otp_required",
  otpInvalid: "otp_invalid",
  disabled: "account_disabled",
} as const;

const wrongCredentials = () => new DomainError("UNAUTHORIZED", "Wrong username or password");
const refused = (reason: (typeof SIGNIN_REASON)[keyof typeof SIGNIN_REASON], message: string) =>
  new DomainError("UNAUTHORIZED", message, { details: { reason } });

/**
 * `auth.signup`, under SIGNUP_MODE: open to anyone, by invitation only, or closed. The very first
 * account of a drive can always be created (it becomes the admin), whatever the mode.
 */
export async function signup(input: Credentials & { invite?: string }, origin: RequestOrigin): Promise<SignedIn> {
  const credentials = credentialsSchema.parse(input);
  const mode = env.SIGNUP_MODE;
  const bootstrap = mode !== "open" && (await hasNoAccounts());
  const closed = () =>
    new DomainError("FORBIDDEN", "Sign-up is closed on this drive; ask its administrator for an account", {
      details: { reason: "signup_closed" },
    });
  const inviteRequired = () => new DomainError("FORBIDDEN", "Sign-up needs an invitation on this drive", { details: { reason: "invite_required" } });
  if (mode === "closed" && !bootstrap) throw closed();
  if (mode === "invite" && !bootstrap && !input.invite) throw inviteRequired();
  await assertSignupAllowed(origin.clientIp);
  // A bootstrap sign-up is checked again under the lock that makes exactly one account the first.
  const onlyIfFirst = bootstrap ? (mode === "closed" ? closed : inviteRequired) : undefined;
  const actor = await createUser(credentials, { invite: mode === "invite" && !bootstrap ? input.invite : undefined, onlyIfFirst });
  const session = await startSession(actor);
  return { ...session, actor };
}

/**
 * Checks a username, password and, for an account with two-factor on, a TOTP or recovery code,
 * under the sign-in throttles; the actor, or UNAUTHORIZED. Throttled usernames and addresses are
 * refused before the password is looked at, so a throttled guesser learns nothing, not even from
 * timing. Only after the right password does the answer say more: `otp_required` (ask for the
 * code), `otp_invalid`, or `account_disabled`. A wrong code counts as a failed sign-in.
 */
export async function authenticate(
  input: { username: string; password: string; otp?: string | null },
  origin: RequestOrigin,
): Promise<Actor> {
  const attempt = { username: input.username, clientIp: origin.clientIp };
  await assertSigninAllowed(attempt);

  // Input that no account could have is a failed sign-in like any other (and counts as one).
  const parsed = credentialsSchema.safeParse(input);
  const user = parsed.success ? await findUserForSignin(parsed.data.username) : null;
  const ok = user ? await verifyPassword(user.passwordHash, input.password) : await verifyAgainstDummy(input.password);
  if (!user || !ok) {
    await recordSigninFailure(attempt);
    throw wrongCredentials();
  }
  if (user.disabledAt) throw refused(SIGNIN_REASON.disabled, "This account is disabled; ask the drive's administrator");
  if (user.totpEnabledAt) {
    const otp = input.otp?.trim();
    if (!otp) throw refused(SIGNIN_REASON.otpRequired, "Enter the code from your authenticator app");
    if (!(await verifySecondFactor(user.id, otp))) {
      await recordSigninFailure(attempt);
      throw refused(SIGNIN_REASON.otpInvalid, "That code is not right");
    }
  }
  await recordSigninSuccess(attempt);
  return { userId: user.id, username: user.username };
}

/** `auth.signin`: authenticate, then start a token session. */
export async function signin(
  input: { username: string; password: string; otp?: string | null },
  origin: RequestOrigin,
): Promise<SignedIn> {
  const actor = await authenticate(input, origin);
  const session = await startSession(actor);
  return { ...session, actor };
}
