import { z } from "zod";
import { endSessionByRefreshToken, refreshSession, type TokenPair } from "~/server/auth/sessions";
import { signin, signup, type SignedIn } from "~/server/auth/signin";
import { credentialsSchema } from "~/server/services/users";
import { createTRPCRouter, publicProcedure } from "~/server/trpc/trpc";

const refreshTokenInput = z.object({ refreshToken: z.string().min(1).max(512) });


const pair = (s: SignedIn | TokenPair): TokenPair => ({
  accessToken: s.accessToken,
  refreshToken: s.refreshToken,
  accessExpiresAt: s.accessExpiresAt,
});

export const authRouter = createTRPCRouter({
  signup: publicProcedure
    .input(credentialsSchema)
    .mutation(async ({ ctx, input }) => pair(await signup(input, { clientIp: ctx.clientIp }))),

  signin: publicProcedure
    .input(credentialsSchema)
    .mutation(async ({ ctx, input }) => pair(await signin(input, { clientIp: ctx.clientIp }))),

  refresh: publicProcedure.input(refreshTokenInput).mutation(async ({ input }) => pair(await refreshSession(input.refreshToken))),

  signout: publicProcedure.input(refreshTokenInput).mutation(async ({ input }) => {
    await endSessionByRefreshToken(input.refreshToken);
    return { ok: true as const };
  }),
});
