import { z } from "zod";
import { abortUpload, initInput, initUpload, pendingUploads, uploadIdSchema, uploadStatus } from "~/server/services/uploads/sessions";
import { completeUpload } from "~/server/services/uploads/complete";
import { proveInput, proveUpload } from "~/server/services/uploads/instant";
import { issueUploadGrant } from "~/server/auth/upload-grant";
import { createTRPCRouter, protectedProcedure, uploadProcedure } from "~/server/trpc/trpc";

const byId = z.object({ uploadId: uploadIdSchema });

/** Chunked, resumable and instant (秒传) uploads; chunk bytes go to PUT /api/uploads/{id}/chunks/{i}. */
export const uploadRouter = createTRPCRouter({
  // `uploadToken`: a grant for this one upload (auth/upload-grant.ts), for when the sign-in ends mid-way.
  init: protectedProcedure.input(initInput).mutation(async ({ ctx, input }) => {
    const result = await initUpload(ctx.actor, input);
    return { ...result, uploadToken: issueUploadGrant(ctx.actor, result.uploadId)?.token ?? null };
  }),
  status: uploadProcedure.input(byId).query(({ ctx, input }) => uploadStatus(ctx.actor, input.uploadId)),
  complete: uploadProcedure.input(byId).mutation(({ ctx, input }) => completeUpload(ctx.actor, input.uploadId)),
  abort: uploadProcedure.input(byId).mutation(({ ctx, input }) => abortUpload(ctx.actor, input.uploadId)),
  pending: protectedProcedure.query(({ ctx }) => pendingUploads(ctx.actor)),
  prove: uploadProcedure.input(proveInput).mutation(({ ctx, input }) => proveUpload(ctx.actor, input)),
});
