import { createTRPCRouter } from "~/server/trpc/trpc";

export const userRouter = createTRPCRouter({});
