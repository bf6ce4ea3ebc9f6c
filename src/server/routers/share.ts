import { createTRPCRouter } from "~/server/trpc/trpc";

export const shareRouter = createTRPCRouter({});
