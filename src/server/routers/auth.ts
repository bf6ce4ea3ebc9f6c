import { z } from "zod";
import { endSessionByRefreshToken, refreshSession, type TokenPair } from "~/server/auth/sessions";
import { signin, signup, type SignedIn } from "~/server/auth/signin";
import { emailSchema } from "~/server/services/accounts/email";
import { INVITE_CODE } from "~/server/services/accounts/invites";
import { requestPasswordReset, resetPassword } from "~/server/services/accounts/password-reset";
import { signupPolicy } from "~/server/services/accounts/signup-policy";
import { credentialsSchema, passwordSchema, usernameSchema } from "~/server/services/users";
import { createTRPCRouter, publicProcedure } from "~/server/trpc/trpc";

const refreshTokenInput = z.object({ refreshToken: z.string().min(1).max(512) });

/** A TOTP code (6 digits) or a recovery code (xxxxx-xxxxx); anything longer is not either. */
const otpSchema = z.string().trim().max(32).optional();

const pair = (s: SignedIn | TokenPair): TokenPair => ({
  accessToken: s.accessToken,
  refreshToken: s.refreshToken,
  accessExpiresAt: s.accessExpiresAt,
});

export const authRouter = createTRPCRouter({
  /** What the sign-up page needs to know: SIGNUP_MODE (open, invite, closed). */
  signupPolicy: publicProcedure.query(() => signupPolicy()),

  signup: publicProcedure
    .input(credentialsSchema.extend({ invite: z.string().regex(INVITE_CODE, "Not an invitation code").optional() }))
    .mutation(async ({ ctx, input }) => pair(await signup(input, { clientIp: ctx.clientIp }))),

  signin: publicProcedure
    .input(credentialsSchema.extend({ otp: otpSchema }))
    .mutation(async ({ ctx, input }) => pair(await signin(input, { clientIp: ctx.clientIp }))),

  refresh: publicProcedure.input(refreshTokenInput).mutation(async ({ input }) => pair(await refreshSession(input.refreshToken))),

  signout: publicProcedure.input(refreshTokenInput).mutation(async ({ input }) => {
    await endSessionByRefreshToken(input.refreshToken);
    return { ok: true as const };
  }),

  /** Mails a reset link to the account's verified address; the same answer whether or not it exists. */
  requestPasswordReset: publicProcedure
    .input(z.union([z.object({ username: usernameSchema }).strict(), z.object({ email: emailSchema }).strict()]))
    .mutation(({ ctx, input }) => requestPasswordReset(input, { clientIp: ctx.clientIp })),

  resetPassword: publicProcedure
    .input(z.object({ token: z.string().min(1).max(128), password: passwordSchema }))
    .mutation(({ ctx, input }) => resetPassword(input, { clientIp: ctx.clientIp })),
});
