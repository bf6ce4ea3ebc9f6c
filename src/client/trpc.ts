import { createTRPCClient, httpLink, retryLink, TRPCClientError, type TRPCClient, type TRPCLink } from "@trpc/client";
import { observable, type Unsubscribable } from "@trpc/server/observable";
import superjson from "superjson";
import type { AppRouter } from "../server/trpc/root";
import { isNetworkFailure } from "./errors";
import { nodeFetch } from "./http";
import type { TokenKeeper } from "./tokens";

// The typed tRPC client: every call is checked against the server's AppRouter. Calls carry the
// keeper's access token; one that comes back UNAUTHORIZED is refreshed (once, shared with every
// other call waiting on the same token) and sent again. Queries that fail to reach the server are
// retried with backoff; mutations are not (they may have happened).

export type Trpc = TRPCClient<AppRouter>;

function authLink(keeper: TokenKeeper): TRPCLink<AppRouter> {
  return () =>
    ({ op, next }) =>
      observable((observer) => {
        // auth.* are public and take their tokens in the input: never refresh around them.
        if (op.path.startsWith("auth.")) return next(op).subscribe(observer);
        let sub: Unsubscribable | undefined;
        let closed = false;
        const fail = (e: unknown) => observer.error(TRPCClientError.from(e instanceof Error ? e : new Error(String(e))));
        const attempt = (token: string | null, retried: boolean) => {
          if (closed) return;
          sub = next({ ...op, context: { ...op.context, accessToken: token } }).subscribe({
            next: (value) => observer.next(value),
            error: (err) => {
              if (!retried && token && err.data?.code === "UNAUTHORIZED") {
                keeper.refreshAfter(token).then((fresh) => attempt(fresh, true), fail);
              } else observer.error(err);
            },
            complete: () => observer.complete(),
          });
        };
        keeper.accessToken().then((token) => attempt(token, false), fail);
        return () => {
          closed = true;
          sub?.unsubscribe();
        };
      });
}

export function createTrpc(baseUrl: string, keeper: TokenKeeper | null, extraHeaders: Record<string, string> = {}): Trpc {
  return createTRPCClient<AppRouter>({
    links: [
      retryLink({
        retry: ({ op, error, attempts }) => op.type === "query" && attempts < 4 && !error.data && isNetworkFailure(error.cause ?? error),
        retryDelayMs: (attempt) => Math.min(4000, 250 * 2 ** attempt),
      }),
      ...(keeper ? [authLink(keeper)] : []),
      httpLink({
        url: `${baseUrl}/api/trpc`,
        transformer: superjson,
        fetch: nodeFetch,
        headers: ({ op }) => {
          const token = (op.context as { accessToken?: string | null }).accessToken;
          return token ? { ...extraHeaders, authorization: `Bearer ${token}` } : extraHeaders;
        },
      }),
    ],
  });
}
