import { createTRPCClient, httpLink } from "@trpc/client";
import superjson from "superjson";
import { TRPC_URL } from "~/trpc/react";
import type { AppRouter } from "~/server/trpc/root";

// The uploader's own tRPC client: one request per call (no batching, so each call carries the
// grant of the one upload it is about) and `X-Upload-Token` on every call whose input names an
// upload the page holds a grant for (see src/server/auth/upload-grant.ts). The session cookie goes
// along as usual; the grant only matters once the cookie no longer works.

export const UPLOAD_TOKEN_HEADER = "x-upload-token";

export function createUploadClient(grants: ReadonlyMap<string, string>) {
  return createTRPCClient<AppRouter>({
    links: [
      httpLink({
        url: TRPC_URL,
        transformer: superjson,
        headers: ({ op }) => {
          const uploadId = (op.input as { uploadId?: unknown } | undefined)?.uploadId;
          const token = typeof uploadId === "string" ? grants.get(uploadId) : undefined;
          return token ? { [UPLOAD_TOKEN_HEADER]: token } : {};
        },
      }),
    ],
  });
}

export type UploadClient = ReturnType<typeof createUploadClient>;
