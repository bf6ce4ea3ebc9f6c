// The procedures and their errors are the contract in docs/API.md.
import { adminRouter } from "~/server/routers/admin";
import { authRouter } from "~/server/routers/auth";
import { fileRouter } from "~/server/routers/file";
import { shareRouter } from "~/server/routers/share";
import { trashRouter } from "~/server/routers/trash";
import { uploadRouter } from "~/server/routers/upload";
import { userRouter } from "~/server/routers/user";
import { createCallerFactory, createTRPCRouter } from "./trpc";

export const appRouter = createTRPCRouter({
  auth: authRouter,
  user: userRouter,
  file: fileRouter,
  trash: trashRouter,
  upload: uploadRouter,
  share: shareRouter,
  admin: adminRouter,
});

export type AppRouter = typeof appRouter;

/** Server-side caller (tests, server components): `createCaller(await createTrpcContext({ headers }))`. */
export const createCaller = createCallerFactory(appRouter);
