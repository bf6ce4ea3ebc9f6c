import { createTRPCRouter } from "~/server/trpc/trpc";

export const fileRouter = createTRPCRouter({});
