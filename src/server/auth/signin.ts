import { createUser, credentialsSchema, findUserForSignin, type Credentials } from "~/server/services/users";
import { DomainError } from "~/server/errors";
import type { Actor } from "./actor";
import { verifyAgainstDummy, verifyPassword } from "./passwords";
import { startSession, type TokenPair } from "./sessions";
import { assertSigninAllowed, assertSignupAllowed, clearSigninFailures, recordSigninFailure } from "./throttle";

// The sign-up and sign-in flows shared by tRPC (`auth.signup`, `auth.signin`) and the next-auth
// credentials provider, so the browser and scripts meet the same rules and the same throttles.

export interface RequestOrigin {
  /** The client address (ctx.clientIp); "unknown" when not known. */
  clientIp: string;
}

export type SignedIn = TokenPair & { actor: Actor; familyId: string };

const wrongCredentials = () => new DomainError("UNAUTHORIZED", "Wrong username or password");

export async function signup(input: Credentials, origin: RequestOrigin): Promise<SignedIn> {
  const credentials = credentialsSchema.parse(input);
  await assertSignupAllowed(origin.clientIp);
  const actor = await createUser(credentials);
  const session = await startSession(actor);
  return { ...session, actor };
}

/**
 * Checks a username and password under the sign-in throttles; the actor, or UNAUTHORIZED.
 * Throttled usernames and addresses are refused before the password is looked at, so a throttled
 * guesser learns nothing, not even from timing.
 */
export async function authenticate(input: { username: string; password: string }, origin: RequestOrigin): Promise<Actor> {
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
  await clearSigninFailures(input.username);
  return { userId: user.id, username: user.username };
}

/** `auth.signin`: authenticate, then start a token session. */
export async function signin(input: { username: string; password: string }, origin: RequestOrigin): Promise<SignedIn> {
  const actor = await authenticate(input, origin);
  const session = await startSession(actor);
  return { ...session, actor };
}
