import { z } from "zod";
import { listTrash } from "~/server/services/trash/list-trash";
import { purgeTrash } from "~/server/services/trash/purge-trash";
import { restoreEntries } from "~/server/services/trash/restore-entries";
import { createTRPCRouter, protectedProcedure } from "~/server/trpc/trpc";
import { entryIds } from "./file";

export const trashRouter = createTRPCRouter({
  list: protectedProcedure
    .input(
      z
        .object({ cursor: z.string().max(2048).nullish(), limit: z.number().int().min(1).max(1000).default(100) })
        .default({ limit: 100 }),
    )
    .query(({ ctx, input }) => listTrash(ctx.actor.userId, input)),

  restore: protectedProcedure
    .input(z.object({ ids: entryIds }))
    .mutation(({ ctx, input }) => restoreEntries(ctx.actor.userId, input)),

  purge: protectedProcedure
    .input(z.object({ ids: entryIds.optional() }).default({}))
    .mutation(({ ctx, input }) => purgeTrash(ctx.actor.userId, input)),
});
