import { db } from "~/server/db/client";

/** Whether an admin disabled the account (a missing account counts as disabled). From the primary. */
export async function isAccountDisabled(userId: string): Promise<boolean> {
  const user = await db.$primary().user.findUnique({ where: { id: userId }, select: { disabledAt: true } });
  return !user || user.disabledAt !== null;
}
