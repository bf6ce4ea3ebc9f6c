"use client";

import { signOut } from "next-auth/react";
import { useState } from "react";
import { api, type RouterOutputs } from "~/trpc/react";
import { formatBytes, formatDate } from "./format";

// The drive page: who is signed in, how full the drive is, and a folder listing.

type Me = RouterOutputs["user"]["me"];

export type DriveEntry = RouterOutputs["file"]["list"]["items"][number];

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

const PAGE_SIZE = 100;

export function FolderListing({ parentId }: { parentId: string | null }) {
  const listing = api.file.list.useInfiniteQuery(
    { parentId, limit: PAGE_SIZE },
    { getNextPageParam: (page) => page.nextCursor ?? undefined },
  );
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
  const items = listing.data.pages.flatMap((page) => page.items);
  if (items.length === 0) {
    return (
      <div className="empty" data-testid="empty-drive">
        <div className="empty-icon" aria-hidden>
          ☁
        </div>
        <p>{parentId === null ? "Your drive is empty" : "This folder is empty"}</p>
      </div>
    );
  }
  return (
    <>
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
            <EntryRow key={entry.id} entry={entry} />
          ))}
        </tbody>
      </table>
      {listing.hasNextPage && (
        <div className="more">
          <button
            type="button"
            className="button secondary"
            disabled={listing.isFetchingNextPage}
            onClick={() => void listing.fetchNextPage()}
          >
            {listing.isFetchingNextPage ? "Loading…" : "Show more"}
          </button>
        </div>
      )}
    </>
  );
}

function EntryRow({ entry }: { entry: DriveEntry }) {
  return (
    <tr data-testid="entry">
      <td>
        <span className={`kind ${entry.kind}`} aria-label={entry.kind} />
        <span className="entry-name">{entry.name}</span>
      </td>
      <td className="num">{entry.kind === "folder" || entry.size === null ? "—" : formatBytes(entry.size)}</td>
      <td>{formatDate(entry.updatedAt)}</td>
    </tr>
  );
}
