import { createTRPCRouter } from "~/server/trpc/trpc";

export const uploadRouter = createTRPCRouter({});
