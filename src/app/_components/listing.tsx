"use client";

import Link from "next/link";
import { useRouter } from "next/navigation";
import { useState } from "react";
import { api, type RouterOutputs } from "~/trpc/react";
import { EntryName } from "./entry-name";
import { formatBytes, formatDate } from "./format";
import { Icon } from "./icons";
import { InlineNameForm } from "./inline-name-form";
import { ActionsHeader, ShowMore } from "./listing-parts";
import { LoadError } from "./load-error";

// The drive's listing: a folder's entries (or search results) in cursor pages, sortable columns,
// multi-select, and each entry's actions (download, rename in place, move, share, trash).

export type DriveEntry = RouterOutputs["file"]["list"]["items"][number];

export type SortKey = "name" | "size" | "updatedAt";
export type Sort = { sort: SortKey; order: "asc" | "desc" };
export type Selection = ReadonlyMap<string, DriveEntry>;

const PAGE_SIZE = 100;

export const folderHref = (id: string | null) => (id === null ? "/" : `/?folder=${encodeURIComponent(id)}`);
export const contentHref = (id: string) => `/api/files/${encodeURIComponent(id)}/content`;

export function Listing({
  input,
  searching,
  sort,
  onSort,
  selected,
  onSelect,
  onDelete,
  onMove,
  onShare,
  onUploadClick,
}: {
  input: { parentId: string | null } | { q: string };
  searching: boolean;
  sort: Sort;
  onSort: (s: Sort) => void;
  selected: Selection;
  onSelect: (s: Selection) => void;
  onDelete: (entry: DriveEntry) => void;
  onMove: (entry: DriveEntry) => void;
  onShare: (entry: DriveEntry) => void;
  onUploadClick: () => void;
}) {
  const listing = api.file.list.useInfiniteQuery(
    { ...input, limit: PAGE_SIZE, sort: sort.sort, order: sort.order },
    { getNextPageParam: (page) => page.nextCursor ?? undefined, placeholderData: (previous) => previous },
  );
  if (listing.isPending) return <p className="muted">Loading…</p>;
  if (listing.isError) {
    if (listing.error.data?.code === "NOT_FOUND") {
      return (
        <div className="notice error" role="alert" data-testid="listing-error">
          This folder does not exist or is in the trash. <Link href="/">Back to My drive</Link>
        </div>
      );
    }
    return <LoadError what="your files" testId="listing-error" onRetry={() => void listing.refetch()} />;
  }
  const items = listing.data.pages.flatMap((page) => page.items);
  if (items.length === 0) {
    if (searching) {
      return (
        <div className="empty" data-testid="empty-search">
          <Icon name="search" size={40} className="empty-icon" />
          <p>Nothing in your drive matches that name</p>
        </div>
      );
    }
    const root = "parentId" in input && input.parentId === null;
    return (
      <div className="empty" data-testid="empty-drive">
        <Icon name={root ? "drive" : "folder"} size={40} className="empty-icon" />
        <p>{root ? "Your drive is empty" : "This folder is empty"}</p>
        <p className="empty-hint">
          Drop files here or{" "}
          <button type="button" className="link" onClick={onUploadClick}>
            upload
          </button>{" "}
          some.
        </p>
      </div>
    );
  }

  const allSelected = items.every((e) => selected.has(e.id));
  const header = (key: SortKey, label: string, className?: string) => {
    const active = sort.sort === key;
    return (
      <th className={className} aria-sort={active ? (sort.order === "asc" ? "ascending" : "descending") : undefined}>
        <button
          type="button"
          className="sort"
          onClick={() => onSort({ sort: key, order: active && sort.order === "asc" ? "desc" : "asc" })}
        >
          {label}
          {active && <span aria-hidden>{sort.order === "asc" ? " ↑" : " ↓"}</span>}
        </button>
      </th>
    );
  };

  return (
    <>
      <table className="listing files" data-testid="listing">
        <thead>
          <tr>
            <th className="check">
              <input
                type="checkbox"
                aria-label="Select all"
                checked={allSelected}
                onChange={() => onSelect(allSelected ? new Map() : new Map(items.map((e) => [e.id, e])))}
              />
            </th>
            {header("name", "Name")}
            {header("size", "Size", "num")}
            {header("updatedAt", "Modified", "date")}
            <ActionsHeader />
          </tr>
        </thead>
        <tbody>
          {items.map((entry) => (
            <EntryRow
              key={entry.id}
              entry={entry}
              searching={searching}
              selected={selected.has(entry.id)}
              onToggle={() => {
                const next = new Map(selected);
                if (next.has(entry.id)) next.delete(entry.id);
                else next.set(entry.id, entry);
                onSelect(next);
              }}
              onDelete={() => onDelete(entry)}
              onMove={() => onMove(entry)}
              onShare={() => onShare(entry)}
            />
          ))}
        </tbody>
      </table>
      <ShowMore query={listing} />
    </>
  );
}

function EntryRow({
  entry,
  searching,
  selected,
  onToggle,
  onDelete,
  onMove,
  onShare,
}: {
  entry: DriveEntry;
  searching: boolean;
  selected: boolean;
  onToggle: () => void;
  onDelete: () => void;
  onMove: () => void;
  onShare: () => void;
}) {
  const router = useRouter();
  const [renaming, setRenaming] = useState(false);
  const isFolder = entry.kind === "folder";
  return (
    <tr data-testid="entry" data-kind={entry.kind} className={selected ? "selected" : undefined}>
      <td className="check">
        <input type="checkbox" aria-label={`Select ${entry.name}`} checked={selected} onChange={onToggle} />
      </td>
      <td className="name-cell">
        {renaming ? (
          <RenameForm entry={entry} onDone={() => setRenaming(false)} />
        ) : (
          <EntryName kind={entry.kind} name={entry.name} href={isFolder ? folderHref(entry.id) : contentHref(entry.id)} />
        )}
      </td>
      <td className="num" data-testid="entry-size">
        {isFolder || entry.size === null ? "—" : formatBytes(entry.size)}
      </td>
      <td className="date">{formatDate(entry.updatedAt)}</td>
      <td className="actions">
        <div className="row-actions">
          {searching && (
            <button
              type="button"
              className="icon-button"
              title="Show in folder"
              aria-label="Show in folder"
              onClick={() => router.push(folderHref(isFolder ? entry.id : entry.parentId))}
            >
              <Icon name="folderOpen" />
            </button>
          )}
          {!isFolder && (
            <a className="icon-button" href={contentHref(entry.id)} download={entry.name} title="Download" aria-label="Download" data-testid="download">
              <Icon name="download" />
            </a>
          )}
          <button type="button" className="icon-button" title="Rename" aria-label="Rename" onClick={() => setRenaming(true)} data-testid="rename">
            <Icon name="rename" />
          </button>
          <button type="button" className="icon-button" title="Move to…" aria-label="Move" onClick={onMove} data-testid="move">
            <Icon name="move" />
          </button>
          <button type="button" className="icon-button" title="Share" aria-label="Share" onClick={onShare} data-testid="share">
            <Icon name="share" />
          </button>
          <button type="button" className="icon-button danger" title="Move to trash" aria-label="Move to trash" onClick={onDelete} data-testid="delete">
            <Icon name="trash" />
          </button>
        </div>
      </td>
    </tr>
  );
}

function RenameForm({ entry, onDone }: { entry: DriveEntry; onDone: () => void }) {
  const utils = api.useUtils();
  const rename = api.file.rename.useMutation();
  // Select the name without its extension, the way file managers do.
  const dot = entry.kind === "file" ? entry.name.lastIndexOf(".") : -1;
  return (
    <InlineNameForm
      className="rename-form"
      testId="rename-form"
      errorTestId="rename-error"
      label="New name"
      initialName={entry.name}
      selectEnd={dot > 0 ? dot : entry.name.length}
      submitLabel="Save"
      busy={rename.isPending}
      save={async (name) => {
        if (name === entry.name) return; // unchanged: close without a call
        await rename.mutateAsync({ id: entry.id, name });
        await utils.file.list.invalidate();
        void utils.file.path.invalidate();
      }}
      onDone={onDone}
    />
  );
}
