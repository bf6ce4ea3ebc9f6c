"use client";

import { useQuery } from "@tanstack/react-query";
import { createTRPCUntypedClient, httpBatchLink, TRPCClientError } from "@trpc/client";
import { signOut } from "next-auth/react";
import { useState } from "react";
import superjson from "superjson";
import { z } from "zod";
import type { AppRouter } from "~/server/trpc/root";
import { TRPC_URL, type RouterOutputs } from "~/trpc/react";
import { formatBytes, formatDate } from "./format";

// The drive page: who is signed in, how full the drive is, and a folder listing.

type Me = RouterOutputs["user"]["me"];

/**
 * The fields of an entry (shared/API.md, "Files and folders") that the listing shows; others pass
 * through untouched.
 */
const entrySchema = z
  .object({
    id: z.string(),
    name: z.string(),
    kind: z.enum(["file", "folder"]),
    size: z.union([z.number(), z.bigint().transform((b) => Number(b))]).nullable(),
    updatedAt: z.coerce.date(),
  })
  .loose();
const listingSchema = z.object({ items: z.array(entrySchema), nextCursor: z.unknown().optional() });
export type DriveEntry = z.infer<typeof entrySchema>;

// `file.list` is called through the untyped client and its answer checked against the contract
// above, so this page works before and after the file router defines it (a procedure that does
// not exist yet answers NOT_FOUND, shown as an empty drive).
const untypedClient = createTRPCUntypedClient<AppRouter>({
  links: [httpBatchLink({ url: TRPC_URL, transformer: superjson })],
});

function useFolderListing(parentId: string | null) {
  return useQuery({
    queryKey: ["file.list", { parentId }],
    queryFn: async () => {
      try {
        const result = await untypedClient.query("file.list", parentId === null ? {} : { parentId });
        return listingSchema.parse(result);
      } catch (e) {
        if (e instanceof TRPCClientError && (e.data as { code?: string } | undefined)?.code === "NOT_FOUND") {
          return { items: [], nextCursor: null };
        }
        throw e;
      }
    },
  });
}

export function Drive({ me }: { me: Me }) {
  return (
    <div className="drive">
      <header className="topbar">
        <span className="brand">filestore</span>
        <div className="topbar-right">
          <QuotaMeter usedBytes={me.usedBytes} quotaBytes={me.quotaBytes} />
          <span className="user" data-testid="username">
            {me.username}
          </span>
          <SignOutButton />
        </div>
      </header>
      <main className="drive-main">
        <h1>My drive</h1>
        <FolderListing parentId={null} />
      </main>
    </div>
  );
}

export function QuotaMeter({ usedBytes, quotaBytes }: { usedBytes: number; quotaBytes: number }) {
  const fraction = quotaBytes > 0 ? Math.min(1, usedBytes / quotaBytes) : 1;
  return (
    <div className="quota" data-testid="quota" title={`${usedBytes} of ${quotaBytes} bytes used`}>
      <div className="quota-bar" aria-hidden>
        <div className="quota-fill" style={{ width: `${(fraction * 100).toFixed(1)}%` }} />
      </div>
      <span className="quota-text">
        {formatBytes(usedBytes)} of {formatBytes(quotaBytes)} used
      </span>
    </div>
  );
}

function SignOutButton() {
  const [busy, setBusy] = useState(false);
  return (
    <button
      type="button"
      className="button secondary"
      disabled={busy}
      onClick={() => {
        setBusy(true);
        void signOut({ callbackUrl: "/signin" });
      }}
    >
      {busy ? "Signing out…" : "Sign out"}
    </button>
  );
}

export function FolderListing({ parentId }: { parentId: string | null }) {
  const listing = useFolderListing(parentId);
  if (listing.isPending) return <p className="muted">Loading…</p>;
  if (listing.isError) {
    return (
      <div className="notice error" role="alert">
        Could not load your files.{" "}
        <button type="button" className="link" onClick={() => void listing.refetch()}>
          Try again
        </button>
      </div>
    );
  }
  const { items } = listing.data;
  if (items.length === 0) {
    return (
      <div className="empty" data-testid="empty-drive">
        <div className="empty-icon" aria-hidden>
          ☁
        </div>
        <p>Your drive is empty</p>
      </div>
    );
  }
  return (
    <table className="listing" data-testid="listing">
      <thead>
        <tr>
          <th>Name</th>
          <th className="num">Size</th>
          <th>Modified</th>
        </tr>
      </thead>
      <tbody>
        {items.map((entry) => (
          <tr key={entry.id}>
            <td>
              <span className={`kind ${entry.kind}`} aria-label={entry.kind} />
              {entry.name}
            </td>
            <td className="num">{entry.kind === "folder" || entry.size === null ? "—" : formatBytes(entry.size)}</td>
            <td>{formatDate(entry.updatedAt)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
