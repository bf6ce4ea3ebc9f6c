import { z } from "zod";
import { endSessionByRefreshToken, refreshSession, type TokenPair } from "~/server/auth/sessions";
import { signin, signup, type SignedIn } from "~/server/auth/signin";
import { DomainError } from "~/server/errors";
import { credentialsSchema } from "~/server/services/users";
import { createTRPCRouter, publicProcedure } from "~/server/trpc/trpc";

const refreshTokenInput = z.object({ refreshToken: z.string().min(1).max(512) });

/**
 * Throttled calls answer 429 with `Retry-After` over HTTP, as raw routes do: the seconds travel in
 * the DomainError's details and become a response header here.
 */
const authProcedure = publicProcedure.use(async ({ ctx, next }) => {
  const result = await next();
  if (!result.ok) {
    const cause = result.error.cause;
    const retryAfter = cause instanceof DomainError ? cause.details?.retryAfter : undefined;
    if (typeof retryAfter === "number") ctx.resHeaders.set("Retry-After", String(Math.ceil(retryAfter)));
  }
  return result;
});

const pair = (s: SignedIn | TokenPair): TokenPair => ({
  accessToken: s.accessToken,
  refreshToken: s.refreshToken,
  accessExpiresAt: s.accessExpiresAt,
});

export const authRouter = createTRPCRouter({
  signup: authProcedure
    .input(credentialsSchema)
    .mutation(async ({ ctx, input }) => pair(await signup(input, { clientIp: ctx.clientIp }))),

  signin: authProcedure
    .input(credentialsSchema)
    .mutation(async ({ ctx, input }) => pair(await signin(input, { clientIp: ctx.clientIp }))),

  refresh: authProcedure.input(refreshTokenInput).mutation(async ({ input }) => pair(await refreshSession(input.refreshToken))),

  signout: authProcedure.input(refreshTokenInput).mutation(async ({ input }) => {
    await endSessionByRefreshToken(input.refreshToken);
    return { ok: true as const };
  }),
});
