import type { Actor } from "~/server/auth/actor";
import { hashPassword, verifyPassword } from "~/server/auth/passwords";
import { revokeUserSessions } from "~/server/auth/revocation";
import { assertSigninAllowed, recordSigninFailure } from "~/server/auth/throttle";
import { runTransaction } from "~/server/db/transaction";
import { db } from "~/server/db/client";
import { DomainError } from "~/server/errors";
import { sendMailLater } from "~/server/mail/mailer";
import { passwordChangedMail } from "~/server/mail/messages";

// Things a signed-in user does with their password: prove it again before a sensitive change
// (password, two-factor), and change it. A wrong password here counts as a failed sign-in of that
// username from that address: a stolen session cannot be used to guess the password faster than
// the sign-in form allows.

export interface RequestContext {
  /** The client address (ctx.clientIp). */
  clientIp: string;
  /** The sign-in the request belongs to (kept when others are ended), null when unknown. */
  familyId: string | null;
}

/** Checks the signed-in user's password under the sign-in throttles; FORBIDDEN when wrong. */
export async function confirmPassword(actor: Actor, password: string, clientIp: string): Promise<void> {
  const attempt = { username: actor.username, clientIp };
  await assertSigninAllowed(attempt);
  const user = await db.$primary().user.findUnique({ where: { id: actor.userId }, select: { passwordHash: true } });
  if (!user) throw new DomainError("UNAUTHORIZED", "This account no longer exists");
  if (!(await verifyPassword(user.passwordHash, password))) {
    await recordSigninFailure(attempt);
    throw new DomainError("FORBIDDEN", "That is not your current password", { details: { reason: "wrong_password" } });
  }
}

/**
 * `user.changePassword`: the current password, then the new one; every other sign-in of the user
 * ends (the one making the request stays), and the verified address, if any, is told.
 */
export async function changePassword(
  actor: Actor,
  input: { current: string; next: string },
  request: RequestContext,
): Promise<{ ok: true }> {
  await confirmPassword(actor, input.current, request.clientIp);
  if (input.current === input.next) {
    throw new DomainError("BAD_REQUEST", "The new password is the same as the current one", { details: { field: "next" } });
  }
  const passwordHash = await hashPassword(input.next);
  const user = await runTransaction(async (tx) => {
    const updated = await tx.user.update({
      where: { id: actor.userId },
      data: { passwordHash },
      select: { username: true, email: true },
    });
    await revokeUserSessions(actor.userId, { keepFamilyId: request.familyId }, tx);
    return updated;
  });
  if (user.email) sendMailLater(passwordChangedMail(user.email, user.username, "changed"), "password-changed notice");
  return { ok: true };
}
