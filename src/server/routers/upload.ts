import { z } from "zod";
import { abortUpload, initInput, initUpload, pendingUploads, uploadIdSchema, uploadStatus } from "~/server/services/uploads/sessions";
import { completeUpload } from "~/server/services/uploads/complete";
import { proveInput, proveUpload } from "~/server/services/uploads/instant";
import { createTRPCRouter, protectedProcedure } from "~/server/trpc/trpc";

const byId = z.object({ uploadId: uploadIdSchema });

/** Chunked, resumable and instant (秒传) uploads; chunk bytes go to PUT /api/uploads/{id}/chunks/{i}. */
export const uploadRouter = createTRPCRouter({
  init: protectedProcedure.input(initInput).mutation(({ ctx, input }) => initUpload(ctx.actor, input)),
  status: protectedProcedure.input(byId).query(({ ctx, input }) => uploadStatus(ctx.actor, input.uploadId)),
  complete: protectedProcedure.input(byId).mutation(({ ctx, input }) => completeUpload(ctx.actor, input.uploadId)),
  abort: protectedProcedure.input(byId).mutation(({ ctx, input }) => abortUpload(ctx.actor, input.uploadId)),
  pending: protectedProcedure.query(({ ctx }) => pendingUploads(ctx.actor)),
  prove: protectedProcedure.input(proveInput).mutation(({ ctx, input }) => proveUpload(ctx.actor, input)),
});
