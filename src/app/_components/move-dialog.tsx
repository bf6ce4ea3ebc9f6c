"use client";

import { useState } from "react";
import { api } from "~/trpc/react";
import { Dialog } from "./dialog";
import { errorCode, errorMessage } from "./errors";
import { Icon } from "./icons";

// "Move to…" and "Copy to…": a small folder picker. It browses the drive's folders from the root
// (breadcrumbs to go back up, a click to go into a folder) and moves or copies the entries into the
// folder shown (a copy shares the stored bytes: nothing is uploaded again).

const PICKER_PAGE = 200;

export function MoveDialog({
  entries,
  mode = "move",
  onClose,
  onMoved,
}: {
  entries: ReadonlyArray<{ id: string; name: string; kind: "file" | "folder"; parentId: string | null }>;
  mode?: "move" | "copy";
  onClose: () => void;
  onMoved: () => void;
}) {
  const moveMutation = api.file.move.useMutation();
  const copyMutation = api.file.copy.useMutation();
  const move = mode === "copy" ? copyMutation : moveMutation;
  const [target, setTarget] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const path = api.file.path.useQuery({ id: target ?? "" }, { enabled: target !== null });
  const listing = api.file.list.useInfiniteQuery(
    { parentId: target, limit: PICKER_PAGE, sort: "name", order: "asc" },
    { getNextPageParam: (page) => page.nextCursor ?? undefined },
  );
  const moving = new Set(entries.map((e) => e.id));
  const items = listing.data?.pages.flatMap((p) => p.items) ?? [];
  const folders = items.filter((e) => e.kind === "folder");
  // Folders come first: once a page holds a file, there are no more folders to load.
  const moreFolders = listing.hasNextPage && items.every((e) => e.kind === "folder");
  // A copy into the same folder is fine (it gets "name (1)"); a move there does nothing.
  const alreadyThere = mode === "move" && entries.every((e) => e.parentId === target);
  const trail = target === null ? [] : (path.data ?? []);
  const what = entries.length === 1 ? `“${entries[0]!.name}”` : `${entries.length} items`;

  async function onMove() {
    setError(null);
    try {
      await move.mutateAsync({ ids: entries.map((e) => e.id), parentId: target });
      onMoved();
    } catch (e) {
      // The server's CONFLICT and BAD_REQUEST messages name the entry that is in the way.
      const code = errorCode(e);
      setError(code === "CONFLICT" || code === "BAD_REQUEST" ? (e as Error).message : errorMessage(e));
    }
  }

  return (
    <Dialog title={`${mode === "copy" ? "Copy" : "Move"} ${what}`} onClose={onClose} testId="move-dialog">
      <nav className="picker-crumbs" aria-label="Folder">
        <button type="button" className="link" onClick={() => setTarget(null)} disabled={target === null}>
          My drive
        </button>
        {trail.map((folder, i) => (
          <span key={folder.id} className="crumb">
            <Icon name="chevron" size={14} className="crumb-sep" />
            <button type="button" className="link" onClick={() => setTarget(folder.id)} disabled={i === trail.length - 1} title={folder.name}>
              {folder.name}
            </button>
          </span>
        ))}
      </nav>
      <ul className="picker" data-testid="move-picker">
        {listing.isPending ? (
          <li className="muted">Loading…</li>
        ) : listing.isError ? (
          <li className="field-error">{errorMessage(listing.error)}</li>
        ) : folders.length === 0 ? (
          <li className="muted">No folders here</li>
        ) : (
          folders.map((folder) => (
            <li key={folder.id}>
              <button
                type="button"
                className="picker-item"
                disabled={moving.has(folder.id)}
                title={moving.has(folder.id) ? `A folder cannot be ${mode === "copy" ? "copied" : "moved"} into itself` : folder.name}
                onClick={() => setTarget(folder.id)}
                data-testid="move-folder"
              >
                <Icon name="folder" className="kind-icon folder" />
                <span className="entry-name">{folder.name}</span>
                <Icon name="chevron" size={16} className="crumb-sep" />
              </button>
            </li>
          ))
        )}
        {moreFolders && (
          <li>
            <button type="button" className="link" disabled={listing.isFetchingNextPage} onClick={() => void listing.fetchNextPage()}>
              {listing.isFetchingNextPage ? "Loading…" : "More folders"}
            </button>
          </li>
        )}
      </ul>
      {error && (
        <div className="notice error" role="alert" data-testid="move-error">
          {error}
        </div>
      )}
      <div className="dialog-actions">
        <button type="button" className="button secondary" onClick={onClose} disabled={move.isPending}>
          Cancel
        </button>
        <button
          type="button"
          className="button primary"
          onClick={() => void onMove()}
          disabled={move.isPending || alreadyThere}
          title={alreadyThere ? "Already in this folder" : undefined}
          data-testid="move-here"
        >
          {move.isPending ? (mode === "copy" ? "Copying…" : "Moving…") : mode === "copy" ? "Copy here" : "Move here"}
        </button>
      </div>
    </Dialog>
  );
}
