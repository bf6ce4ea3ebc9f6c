import { z } from "zod";
import { emailSchema, removeEmail, requestEmailCode, verifyEmail } from "~/server/services/accounts/email";
import { changePassword } from "~/server/services/accounts/passwords";
import {
  disableTwoFactor,
  enableTwoFactor,
  recoveryCodesLeft,
  regenerateRecoveryCodes,
  startTwoFactorSetup,
} from "~/server/services/accounts/two-factor";
import { getProfile, passwordSchema } from "~/server/services/users";
import { createTRPCRouter, protectedProcedure } from "~/server/trpc/trpc";

/** A password being confirmed: any length the account could have (checked, not validated). */
const currentPassword = z.string().min(1).max(128);

export const userRouter = createTRPCRouter({
  me: protectedProcedure.query(({ ctx }) => getProfile(ctx.actor)),

  /** Ends every other sign-in of the user; this one stays. */
  changePassword: protectedProcedure
    .input(z.object({ current: currentPassword, next: passwordSchema }))
    .mutation(({ ctx, input }) =>
      changePassword(ctx.actor, input, { clientIp: ctx.clientIp, familyId: ctx.sessionFamilyId ?? null }),
    ),

  requestEmailCode: protectedProcedure
    .input(z.object({ email: emailSchema }))
    .mutation(({ ctx, input }) => requestEmailCode(ctx.actor, input.email)),

  verifyEmail: protectedProcedure
    .input(z.object({ code: z.string().trim().regex(/^[0-9]{6}$/, "The code is 6 digits") }))
    .mutation(({ ctx, input }) => verifyEmail(ctx.actor, input.code)),

  removeEmail: protectedProcedure.mutation(({ ctx }) => removeEmail(ctx.actor)),

  /** Two-factor enrolment, step 1: the secret and its QR code (needs the password). */
  twoFactorSetup: protectedProcedure
    .input(z.object({ password: currentPassword }))
    .mutation(({ ctx, input }) => startTwoFactorSetup(ctx.actor, input.password, ctx.clientIp)),

  /** Step 2: a code from the app turns it on; the recovery codes come back this once. */
  twoFactorEnable: protectedProcedure
    .input(z.object({ code: z.string().trim().regex(/^[0-9]{6}$/, "The code is 6 digits") }))
    .mutation(({ ctx, input }) => enableTwoFactor(ctx.actor, input.code)),

  twoFactorDisable: protectedProcedure
    .input(z.object({ password: currentPassword }))
    .mutation(({ ctx, input }) => disableTwoFactor(ctx.actor, input.password, ctx.clientIp)),

  /** New recovery codes (the old ones stop working), shown this once. */
  twoFactorRecoveryCodes: protectedProcedure
    .input(z.object({ password: currentPassword }))
    .mutation(({ ctx, input }) => regenerateRecoveryCodes(ctx.actor, input.password, ctx.clientIp)),

  /** How many recovery codes are left unused. */
  recoveryCodesLeft: protectedProcedure.query(({ ctx }) => recoveryCodesLeft(ctx.actor)),
});
