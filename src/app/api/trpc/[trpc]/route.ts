import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { logger } from "~/server/log";
import { appRouter } from "~/server/trpc/root";
import { createTrpcContext } from "~/server/trpc/trpc";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

const log = logger("trpc");

const handler = (req: Request) =>
  fetchRequestHandler({
    endpoint: "/api/trpc",
    req,
    router: appRouter,
    createContext: ({ resHeaders }) => createTrpcContext({ headers: req.headers, resHeaders }),
    onError({ error, path }) {
      if (error.code === "INTERNAL_SERVER_ERROR") log.error({ err: error.cause ?? error, procedure: path }, "procedure failed");
    },
  });

export { handler as GET, handler as POST };
