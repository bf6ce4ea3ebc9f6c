import { z } from "zod";
import { createShare, listShares, revokeShare } from "~/server/services/shares/manage-shares";
import { openShare } from "~/server/services/shares/open-share";
import { saveShare } from "~/server/services/shares/save-share";
import { createTRPCRouter, protectedProcedure, publicProcedure } from "~/server/trpc/trpc";
import { entryId } from "./file";

const token = z.string().min(1).max(128);
const password = z.string().min(1).max(128);

export const shareRouter = createTRPCRouter({
  create: protectedProcedure
    .input(
      z.object({
        id: entryId,
        password: password.nullish(),
        expiresAt: z.coerce.date().nullish(),
        maxDownloads: z.number().int().min(1).max(1_000_000_000).nullish(),
      }),
    )
    .mutation(({ ctx, input }) => createShare(ctx.actor.userId, input)),

  list: protectedProcedure.query(({ ctx }) => listShares(ctx.actor.userId)),

  revoke: protectedProcedure.input(z.object({ token })).mutation(({ ctx, input }) => revokeShare(ctx.actor.userId, input.token)),

  /** Public: no account needed. A correct password sets the unlock cookie. */
  open: publicProcedure
    .input(
      z.object({
        token,
        password: password.nullish(),
        parentId: entryId.nullish(),
        cursor: z.string().max(2048).nullish(),
        limit: z.number().int().min(1).max(1000).default(100),
        sort: z.enum(["name", "size", "updatedAt"]).default("name"),
        order: z.enum(["asc", "desc"]).default("asc"),
      }),
    )
    .mutation(async ({ ctx, input }) => {
      const { result, setCookie } = await openShare(input, { cookieHeader: ctx.headers.get("cookie") });
      if (setCookie) ctx.resHeaders.append("set-cookie", setCookie);
      return result;
    }),

  save: protectedProcedure
    .input(z.object({ token, password: password.nullish(), parentId: entryId.nullish() }))
    .mutation(async ({ ctx, input }) => {
      const { entry, setCookie } = await saveShare(ctx.actor.userId, input, { cookieHeader: ctx.headers.get("cookie") });
      if (setCookie) ctx.resHeaders.append("set-cookie", setCookie);
      return entry;
    }),
});
