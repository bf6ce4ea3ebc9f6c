import { z } from "zod";
import { MAX_EXPIRES_IN_SECONDS } from "~/server/auth/signed-url";
import { copyEntries } from "~/server/services/files/copy-entries";
import { createFolder } from "~/server/services/files/create-folder";
import { createDownloadUrl, entryPath, getEntry } from "~/server/services/files/get-entry";
import { listEntries } from "~/server/services/files/list-entries";
import { moveEntries } from "~/server/services/files/move-entries";
import { renameEntry } from "~/server/services/files/rename-entry";
import { entryName } from "~/server/services/names";
import { trashEntries } from "~/server/services/trash/trash-entries";
import { createTRPCRouter, protectedProcedure } from "~/server/trpc/trpc";

export const entryId = z.string().min(1).max(64);
export const entryIds = z.array(entryId).min(1).max(1000);
const folderId = entryId.nullish();

const listInput = z
  .object({
    parentId: folderId,
    cursor: z.string().max(2048).nullish(),
    limit: z.number().int().min(1).max(1000).default(100),
    sort: z.enum(["name", "size", "updatedAt"]).default("name"),
    order: z.enum(["asc", "desc"]).default("asc"),
    q: z.string().max(255).nullish(),
  })
  .default({ limit: 100, sort: "name", order: "asc" });

export const fileRouter = createTRPCRouter({
  list: protectedProcedure.input(listInput).query(({ ctx, input }) => listEntries(ctx.actor.userId, input)),

  get: protectedProcedure.input(z.object({ id: entryId })).query(({ ctx, input }) => getEntry(ctx.actor.userId, input.id)),

  path: protectedProcedure.input(z.object({ id: entryId })).query(({ ctx, input }) => entryPath(ctx.actor.userId, input.id)),

  mkdir: protectedProcedure
    .input(z.object({ parentId: folderId, name: entryName }))
    .mutation(({ ctx, input }) => createFolder(ctx.actor.userId, input)),

  rename: protectedProcedure
    .input(z.object({ id: entryId, name: entryName }))
    .mutation(({ ctx, input }) => renameEntry(ctx.actor.userId, input)),

  move: protectedProcedure
    .input(z.object({ ids: entryIds, parentId: folderId }))
    .mutation(({ ctx, input }) => moveEntries(ctx.actor.userId, input)),

  copy: protectedProcedure
    .input(z.object({ ids: entryIds, parentId: folderId }))
    .mutation(({ ctx, input }) => copyEntries(ctx.actor.userId, input)),

  delete: protectedProcedure
    .input(z.object({ ids: entryIds }))
    .mutation(({ ctx, input }) => trashEntries(ctx.actor.userId, input)),

  downloadUrl: protectedProcedure
    .input(z.object({ id: entryId, expiresIn: z.number().int().min(1).max(MAX_EXPIRES_IN_SECONDS).default(3600) }))
    .query(({ ctx, input }) => createDownloadUrl(ctx.actor.userId, input)),
});
