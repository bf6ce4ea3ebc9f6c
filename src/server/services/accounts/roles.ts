import { env } from "~/env";
import type { Actor } from "~/server/auth/actor";
import { db } from "~/server/db/client";
import { DomainError } from "~/server/errors";

// Who is an admin: an account whose role is `admin` (the first account of the drive gets it at
// sign-up, or, for a drive that had accounts before roles existed, the oldest one at migration),
// or the account named by ADMIN_USERNAME. The variable is read at every check, so setting it (or
// removing it) takes effect without touching the database.

export type Role = "user" | "admin";

export function effectiveRole(user: { role: Role; username: string }): Role {
  if (user.role === "admin") return "admin";
  if (env.ADMIN_USERNAME && env.ADMIN_USERNAME.toLowerCase() === user.username.toLowerCase()) return "admin";
  return "user";
}

/** FORBIDDEN unless the actor is an admin (read from the primary: a fresh role counts at once). */
export async function assertAdmin(actor: Actor): Promise<void> {
  const user = await db.$primary().user.findUnique({
    where: { id: actor.userId },
    select: { role: true, username: true, disabledAt: true },
  });
  if (!user || user.disabledAt !== null || effectiveRole(user) !== "admin") {
    throw new DomainError("FORBIDDEN", "Only an administrator can do this");
  }
}
