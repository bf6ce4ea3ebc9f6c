import { getProfile } from "~/server/services/users";
import { createTRPCRouter, protectedProcedure } from "~/server/trpc/trpc";

export const userRouter = createTRPCRouter({
  me: protectedProcedure.query(({ ctx }) => getProfile(ctx.actor)),
});
