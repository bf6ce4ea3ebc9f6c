"use client";

import Link from "next/link";
import { useRouter } from "next/navigation";
import { memo, useEffect, useMemo, useRef, useState } from "react";
import { api, type RouterOutputs } from "~/trpc/react";
import { endEntryDrag, entryDropTarget, startEntryDrag } from "./entry-drag";
import { formatBytes, formatDate } from "./format";
import { Icon } from "./icons";
import { InlineNameForm } from "./inline-name-form";
import { ActionsHeader, ShowMore } from "./listing-parts";
import { LoadError } from "./load-error";
import { hasThumbnail, kindIcon } from "./preview-kind";

// The drive's listing: a folder's entries (or search results) in cursor pages, sortable columns,
// selection (click, Ctrl/⌘-click, Shift-click, checkboxes), a keyboard cursor, thumbnails of
// images, drag and drop of entries onto folders, a right-click menu, and each entry's actions.
// A folder's name opens it; a file's name opens the viewer.

export type DriveEntry = RouterOutputs["file"]["list"]["items"][number];

export type SortKey = "name" | "size" | "updatedAt";
export type Sort = { sort: SortKey; order: "asc" | "desc" };
export type Selection = ReadonlyMap<string, DriveEntry>;

const PAGE_SIZE = 100;

export const folderHref = (id: string | null) => (id === null ? "/" : `/?folder=${encodeURIComponent(id)}`);
export const contentHref = (id: string) => `/api/files/${encodeURIComponent(id)}/content`;

export interface ListingHandlers {
  onSelect: (s: Selection) => void;
  onFocus: (id: string) => void;
  onOpen: (entry: DriveEntry) => void;
  onRenameDone: () => void;
  onRename: (entry: DriveEntry) => void;
  onDelete: (entry: DriveEntry) => void;
  onMove: (entry: DriveEntry) => void;
  onShare: (entry: DriveEntry) => void;
  onContextMenu: (at: { x: number; y: number }, entry: DriveEntry | null) => void;
  onDropEntries: (ids: string[], folderId: string | null, copy: boolean) => void;
  /** The entries shown, tagged with the listing they belong to (see `listKey`). */
  onItems: (listKey: string, items: DriveEntry[]) => void;
  onUploadClick: () => void;
}

export function Listing({
  listKey,
  input,
  searching,
  sort,
  onSort,
  selected,
  focusedId,
  renamingId,
  handlers,
}: {
  listKey: string;
  input: { parentId: string | null } | { q: string };
  searching: boolean;
  sort: Sort;
  onSort: (s: Sort) => void;
  selected: Selection;
  focusedId: string | null;
  renamingId: string | null;
  handlers: ListingHandlers;
}) {
  const listing = api.file.list.useInfiniteQuery(
    { ...input, limit: PAGE_SIZE, sort: sort.sort, order: sort.order },
    { getNextPageParam: (page) => page.nextCursor ?? undefined, placeholderData: (previous) => previous },
  );
  // One array per answer (not per render): the page keeps it for the keyboard and the viewer.
  const items = useMemo(() => listing.data?.pages.flatMap((page) => page.items), [listing.data]);
  const { onItems } = handlers;
  useEffect(() => onItems(listKey, items ?? []), [listKey, items, onItems]);

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
  const entries = items ?? [];
  if (entries.length === 0) {
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
      <div className="empty" data-testid="empty-drive" onContextMenu={(e) => contextMenuAt(e, null, handlers)}>
        <Icon name={root ? "drive" : "folder"} size={40} className="empty-icon" />
        <p>{root ? "Your drive is empty" : "This folder is empty"}</p>
        <p className="empty-hint">
          Drop files or folders here or{" "}
          <button type="button" className="link" onClick={handlers.onUploadClick}>
            upload
          </button>{" "}
          some.
        </p>
      </div>
    );
  }

  const allSelected = entries.every((e) => selected.has(e.id));
  const header = (key: SortKey, label: string, className?: string) => {
    const active = sort.sort === key;
    return (
      <th className={className} aria-sort={active ? (sort.order === "asc" ? "ascending" : "descending") : undefined}>
        <button type="button" className="sort" onClick={() => onSort({ sort: key, order: active && sort.order === "asc" ? "desc" : "asc" })}>
          {label}
          {active && <span aria-hidden>{sort.order === "asc" ? " ↑" : " ↓"}</span>}
        </button>
      </th>
    );
  };

  const clickRow = (entry: DriveEntry, e: React.MouseEvent) => {
    handlers.onFocus(entry.id);
    if (e.shiftKey && focusedId) {
      const a = entries.findIndex((x) => x.id === focusedId);
      const b = entries.findIndex((x) => x.id === entry.id);
      const [from, to] = a < b ? [a, b] : [b, a];
      const next = new Map(e.ctrlKey || e.metaKey ? selected : []);
      for (const x of entries.slice(Math.max(0, from), to + 1)) next.set(x.id, x);
      handlers.onSelect(next);
    } else if (e.ctrlKey || e.metaKey) {
      const next = new Map(selected);
      if (!next.delete(entry.id)) next.set(entry.id, entry);
      handlers.onSelect(next);
    } else handlers.onSelect(new Map([[entry.id, entry]]));
  };

  return (
    <>
      <table className="listing files" data-testid="listing" onContextMenu={(e) => contextMenuAt(e, null, handlers)}>
        <thead>
          <tr>
            <th className="check">
              <input
                type="checkbox"
                aria-label="Select all"
                checked={allSelected}
                onChange={() => handlers.onSelect(allSelected ? new Map() : new Map(entries.map((e) => [e.id, e])))}
              />
            </th>
            {header("name", "Name")}
            {header("size", "Size", "num")}
            {header("updatedAt", "Modified", "date")}
            <ActionsHeader />
          </tr>
        </thead>
        <tbody>
          {entries.map((entry) => (
            <EntryRow
              key={entry.id}
              entry={entry}
              searching={searching}
              selected={selected.has(entry.id)}
              focused={focusedId === entry.id}
              renaming={renamingId === entry.id}
              dragIds={selected.has(entry.id) ? [...selected.keys()] : [entry.id]}
              onClick={clickRow}
              handlers={handlers}
              onToggle={() => {
                const next = new Map(selected);
                if (!next.delete(entry.id)) next.set(entry.id, entry);
                handlers.onSelect(next);
              }}
            />
          ))}
        </tbody>
      </table>
      <ShowMore query={listing} />
    </>
  );
}

function contextMenuAt(e: React.MouseEvent, entry: DriveEntry | null, handlers: ListingHandlers) {
  e.preventDefault();
  e.stopPropagation();
  handlers.onContextMenu({ x: e.clientX, y: e.clientY }, entry);
}

/** An image's thumbnail (made by the worker on first request: retried a few times), else its kind's icon. */
function Thumb({ entry }: { entry: DriveEntry }) {
  const [attempt, setAttempt] = useState(0);
  const [failed, setFailed] = useState(false);
  const [loaded, setLoaded] = useState(false);
  const icon = <Icon name={kindIcon(entry.kind, entry.mime, entry.name)} className={`kind-icon ${entry.kind}`} />;
  if (entry.kind !== "file" || !hasThumbnail(entry.mime) || failed || !entry.sha256) return icon;
  // The icon holds the place until the picture has arrived (no broken-image flash while it is made).
  return (
    <span className="thumb-slot">
      {!loaded && icon}
      <img
      className={loaded ? "thumb" : "thumb pending"}
      src={`/api/files/${encodeURIComponent(entry.id)}/thumbnail?v=${entry.sha256}${attempt > 0 ? `&a=${attempt}` : ""}`}
      alt=""
      width={32}
      height={32}
      loading="lazy"
      data-testid="thumbnail"
      onLoad={() => setLoaded(true)}
      onError={() => {
        // 202 while the worker makes it: ask again a little later, then give up and keep the icon.
        if (attempt >= 4) setFailed(true);
        else setTimeout(() => setAttempt((a) => a + 1), 1500 * 2 ** attempt);
      }}
      />
    </span>
  );
}

const EntryRow = memo(function EntryRow({
  entry,
  searching,
  selected,
  focused,
  renaming,
  dragIds,
  onClick,
  onToggle,
  handlers,
}: {
  entry: DriveEntry;
  searching: boolean;
  selected: boolean;
  focused: boolean;
  renaming: boolean;
  dragIds: string[];
  onClick: (entry: DriveEntry, e: React.MouseEvent) => void;
  onToggle: () => void;
  handlers: ListingHandlers;
}) {
  const router = useRouter();
  const row = useRef<HTMLTableRowElement>(null);
  const [over, setOver] = useState(false);
  const isFolder = entry.kind === "folder";
  useEffect(() => {
    if (focused) row.current?.scrollIntoView({ block: "nearest" });
  }, [focused]);
  const drop = isFolder ? entryDropTarget(entry.id, handlers.onDropEntries, setOver) : {};
  const className = [selected && "selected", focused && "focused", over && "drop-target"].filter(Boolean).join(" ") || undefined;
  return (
    <tr
      ref={row}
      data-testid="entry"
      data-kind={entry.kind}
      data-id={entry.id}
      aria-selected={selected}
      className={className}
      draggable={!renaming}
      onDragStart={(e) => startEntryDrag(e, dragIds, entry.name)}
      onDragEnd={endEntryDrag}
      {...drop}
      onClick={(e) => {
        if ((e.target as HTMLElement).closest("a, button, input, form")) return;
        onClick(entry, e);
      }}
      onDoubleClick={(e) => {
        if ((e.target as HTMLElement).closest("a, button, input, form")) return;
        handlers.onOpen(entry);
      }}
      onContextMenu={(e) => {
        if (!selected) handlers.onSelect(new Map([[entry.id, entry]]));
        handlers.onFocus(entry.id);
        contextMenuAt(e, entry, handlers);
      }}
    >
      <td className="check">
        <input type="checkbox" aria-label={`Select ${entry.name}`} checked={selected} onChange={onToggle} />
      </td>
      <td className="name-cell">
        {renaming ? (
          <RenameForm entry={entry} onDone={handlers.onRenameDone} />
        ) : (
          <div className="name-line">
            <Thumb entry={entry} />
            {isFolder ? (
              <Link href={folderHref(entry.id)} className="entry-name" title={entry.name} draggable={false}>
                {entry.name}
              </Link>
            ) : (
              <a
                href={contentHref(entry.id)}
                className="entry-name"
                title={entry.name}
                draggable={false}
                onClick={(e) => {
                  if (e.ctrlKey || e.metaKey || e.shiftKey) return;
                  e.preventDefault();
                  handlers.onOpen(entry);
                }}
                data-testid="open-file"
              >
                {entry.name}
              </a>
            )}
          </div>
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
          <button type="button" className="icon-button" title="Rename (F2)" aria-label="Rename" onClick={() => handlers.onRename(entry)} data-testid="rename">
            <Icon name="rename" />
          </button>
          <button type="button" className="icon-button" title="Move to…" aria-label="Move" onClick={() => handlers.onMove(entry)} data-testid="move">
            <Icon name="move" />
          </button>
          <button type="button" className="icon-button" title="Share" aria-label="Share" onClick={() => handlers.onShare(entry)} data-testid="share">
            <Icon name="share" />
          </button>
          <button
            type="button"
            className="icon-button danger"
            title="Move to trash (Delete)"
            aria-label="Move to trash"
            onClick={() => handlers.onDelete(entry)}
            data-testid="delete"
          >
            <Icon name="trash" />
          </button>
        </div>
      </td>
    </tr>
  );
});

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
