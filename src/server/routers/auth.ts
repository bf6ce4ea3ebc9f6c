import { createTRPCRouter } from "~/server/trpc/trpc";

export const authRouter = createTRPCRouter({});
