import { createTRPCRouter } from "~/server/trpc/trpc";

export const trashRouter = createTRPCRouter({});
