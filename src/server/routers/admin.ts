import { z } from "zod";
import { createResetLink, listUsers, resetTwoFactor, setDisabled, setQuota } from "~/server/services/accounts/admin";
import { createInvite, listInvites, revokeInvite } from "~/server/services/accounts/invites";
import { createTRPCRouter, protectedProcedure } from "~/server/trpc/trpc";

// Admins only: every procedure's service starts with assertAdmin (FORBIDDEN for anyone else).

const id = z.string().min(1).max(64);

export const adminRouter = createTRPCRouter({
  listUsers: protectedProcedure
    .input(
      z
        .object({
          q: z.string().max(254).optional(),
          cursor: z.string().max(64).optional(),
          limit: z.number().int().min(1).max(500).optional(),
        })
        .optional(),
    )
    .query(({ ctx, input }) => listUsers(ctx.actor, input ?? {})),

  setQuota: protectedProcedure
    .input(z.object({ userId: id, quotaBytes: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER) }))
    .mutation(({ ctx, input }) => setQuota(ctx.actor, input)),

  setDisabled: protectedProcedure
    .input(z.object({ userId: id, disabled: z.boolean() }))
    .mutation(({ ctx, input }) => setDisabled(ctx.actor, input)),

  /** A password-reset link to hand to the user (for an account without a verified address). */
  createResetLink: protectedProcedure.input(z.object({ userId: id })).mutation(({ ctx, input }) => createResetLink(ctx.actor, input)),

  /** Two-factor off for a user who lost their phone and recovery codes. */
  resetTwoFactor: protectedProcedure.input(z.object({ userId: id })).mutation(({ ctx, input }) => resetTwoFactor(ctx.actor, input)),

  createInvite: protectedProcedure
    .input(z.object({ expiresInDays: z.number().int().min(1).max(365).optional() }).optional())
    .mutation(({ ctx, input }) => createInvite(ctx.actor, input ?? {})),

  listInvites: protectedProcedure.query(({ ctx }) => listInvites(ctx.actor)),

  revokeInvite: protectedProcedure
    .input(z.object({ id }))
    .mutation(async ({ ctx, input }) => {
      await revokeInvite(ctx.actor, input.id);
      return { ok: true as const };
    }),
});
