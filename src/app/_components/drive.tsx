"use client";

import Link from "next/link";
import { useEffect, useRef, useState, type DragEvent } from "react";
import { api } from "~/trpc/react";
import { ConfirmDialog } from "./dialog";
import { Icon } from "./icons";
import { InlineNameForm } from "./inline-name-form";
import { folderHref, Listing, type DriveEntry, type Selection, type Sort } from "./listing";
import { MoveDialog } from "./move-dialog";
import { ShareDialog } from "./share-dialog";
import { AppShell, type Me } from "./shell";
import { useAddUploads } from "./upload-context";
import { PendingUploads } from "./upload-panel";

// The drive page: breadcrumbs, toolbar (search, new folder, upload), the listing, multi-select
// actions, drag-and-drop uploads, the upload panel and the dialogs (move, share, delete).

export function Drive({ me, folderId }: { me: Me; folderId: string | null }) {
  return (
    <AppShell me={me} section="drive">
      <DriveView folderId={folderId} />
    </AppShell>
  );
}

function useDebounced<T>(value: T, ms: number): T {
  const [debounced, setDebounced] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setDebounced(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return debounced;
}

type Pending =
  | { kind: "delete"; entries: DriveEntry[] }
  | { kind: "move"; entries: DriveEntry[] }
  | { kind: "share"; entry: DriveEntry }
  | null;

function DriveView({ folderId }: { folderId: string | null }) {
  const utils = api.useUtils();
  const addUploads = useAddUploads();
  const [query, setQuery] = useState("");
  const q = useDebounced(query.trim(), 250);
  const [creating, setCreating] = useState(false);
  const [selected, setSelected] = useState<Selection>(new Map());
  const [sort, setSort] = useState<Sort>({ sort: "name", order: "asc" });
  const [dragging, setDragging] = useState(false);
  const [pending, setPending] = useState<Pending>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const fileInput = useRef<HTMLInputElement>(null);

  // Another folder: start clean.
  useEffect(() => {
    setSelected(new Map());
    setQuery("");
    setCreating(false);
    setNotice(null);
  }, [folderId]);

  const searching = q.length > 0;

  function startUploads(files: File[]) {
    if (files.length > 0) addUploads(files, folderId);
  }

  function onDragOver(e: DragEvent) {
    if (!e.dataTransfer.types.includes("Files")) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = "copy";
    setDragging(true);
  }

  function onDrop(e: DragEvent) {
    if (!e.dataTransfer.types.includes("Files")) return;
    e.preventDefault();
    setDragging(false);
    const files: File[] = [];
    let skipped = 0;
    for (const item of Array.from(e.dataTransfer.items)) {
      if (item.kind !== "file") continue;
      if (item.webkitGetAsEntry?.()?.isDirectory) {
        skipped++;
        continue;
      }
      const file = item.getAsFile();
      if (file) files.push(file);
    }
    setNotice(skipped > 0 ? "Folders cannot be dropped; drop the files inside them instead." : null);
    startUploads(files);
  }

  return (
    <div
      className={dragging ? "dropzone dragging" : "dropzone"}
      onDragOver={onDragOver}
      onDragLeave={(e) => {
        if (!e.currentTarget.contains(e.relatedTarget as Node | null)) setDragging(false);
      }}
      onDrop={onDrop}
      data-testid="dropzone"
    >
      <div className="page-head">
        {searching ? (
          <h1 className="crumbs">Results for “{q}”</h1>
        ) : (
          <Breadcrumbs folderId={folderId} />
        )}
        <div className="toolbar">
          <label className="search">
            <Icon name="search" size={16} />
            <input
              type="search"
              placeholder="Search your drive"
              aria-label="Search your drive"
              value={query}
              onChange={(e) => setQuery(e.target.value)}
              data-testid="search"
            />
          </label>
          <button type="button" className="button secondary" onClick={() => setCreating(true)} disabled={searching} data-testid="new-folder">
            <Icon name="folderPlus" />
            New folder
          </button>
          <button type="button" className="button primary" onClick={() => fileInput.current?.click()} disabled={searching} data-testid="upload">
            <Icon name="upload" />
            Upload
          </button>
          <input
            ref={fileInput}
            type="file"
            multiple
            hidden
            data-testid="file-input"
            onChange={(e) => {
              startUploads(Array.from(e.target.files ?? []));
              e.target.value = "";
            }}
          />
        </div>
      </div>

      {notice && (
        <div className="notice error" role="alert">
          {notice}
        </div>
      )}

      <PendingUploads />

      {creating && !searching && <NewFolderForm parentId={folderId} onDone={() => setCreating(false)} />}

      {selected.size > 0 && (
        <div className="selection-bar" data-testid="selection-bar">
          <span>{selected.size} selected</span>
          <button
            type="button"
            className="button secondary small"
            data-testid="delete-selected"
            onClick={() => setPending({ kind: "delete", entries: [...selected.values()] })}
          >
            <Icon name="trash" size={16} />
            Delete
          </button>
          <button
            type="button"
            className="button secondary small"
            data-testid="move-selected"
            onClick={() => setPending({ kind: "move", entries: [...selected.values()] })}
          >
            <Icon name="move" size={16} />
            Move
          </button>
          <button type="button" className="button link" onClick={() => setSelected(new Map())}>
            Clear selection
          </button>
        </div>
      )}

      <Listing
        key={searching ? `q:${q}` : `f:${folderId ?? ""}`}
        input={searching ? { q } : { parentId: folderId }}
        searching={searching}
        sort={sort}
        onSort={setSort}
        selected={selected}
        onSelect={setSelected}
        onDelete={(entry) => setPending({ kind: "delete", entries: [entry] })}
        onMove={(entry) => setPending({ kind: "move", entries: [entry] })}
        onShare={(entry) => setPending({ kind: "share", entry })}
        onUploadClick={() => fileInput.current?.click()}
      />

      {dragging && (
        <div className="drop-hint" aria-hidden>
          <Icon name="upload" size={28} />
          Drop files to upload them here
        </div>
      )}

      {pending?.kind === "delete" && (
        <DeleteDialog
          entries={pending.entries}
          onClose={() => setPending(null)}
          onDeleted={() => {
            setPending(null);
            setSelected(new Map());
            void utils.file.list.invalidate();
            void utils.trash.list.invalidate();
            void utils.user.me.invalidate();
          }}
        />
      )}
      {pending?.kind === "move" && (
        <MoveDialog
          entries={pending.entries}
          onClose={() => setPending(null)}
          onMoved={() => {
            setPending(null);
            setSelected(new Map());
            void utils.file.list.invalidate();
            void utils.file.path.invalidate();
          }}
        />
      )}
      {pending?.kind === "share" && <ShareDialog entry={pending.entry} onClose={() => setPending(null)} />}
    </div>
  );
}

function Breadcrumbs({ folderId }: { folderId: string | null }) {
  const path = api.file.path.useQuery({ id: folderId ?? "" }, { enabled: folderId !== null });
  if (folderId === null) return <h1 className="crumbs">My drive</h1>;
  const trail = path.data ?? [];
  return (
    <nav className="crumbs" aria-label="Breadcrumbs" data-testid="breadcrumbs">
      <Link href="/">My drive</Link>
      {trail.map((entry, i) => (
        <span key={entry.id} className="crumb">
          <Icon name="chevron" size={16} className="crumb-sep" />
          {i === trail.length - 1 ? <h1 aria-current="page">{entry.name}</h1> : <Link href={folderHref(entry.id)}>{entry.name}</Link>}
        </span>
      ))}
      {path.isPending && <span className="crumb muted-inline">…</span>}
    </nav>
  );
}

function NewFolderForm({ parentId, onDone }: { parentId: string | null; onDone: () => void }) {
  const utils = api.useUtils();
  const mkdir = api.file.mkdir.useMutation();
  return (
    <InlineNameForm
      className="inline-form"
      testId="new-folder-form"
      errorTestId="new-folder-error"
      label="Folder name"
      placeholder="Folder name"
      icon={<Icon name="folder" className="kind-icon folder" />}
      submitLabel={mkdir.isPending ? "Creating…" : "Create"}
      busy={mkdir.isPending}
      errorOverrides={{ NOT_FOUND: "This folder no longer exists." }}
      save={async (name) => {
        await mkdir.mutateAsync({ parentId, name });
        await utils.file.list.invalidate();
      }}
      onDone={onDone}
    />
  );
}

function DeleteDialog({ entries, onClose, onDeleted }: { entries: DriveEntry[]; onClose: () => void; onDeleted: () => void }) {
  const del = api.file.delete.useMutation();
  const what = entries.length === 1 ? `“${entries[0]!.name}”` : `${entries.length} items`;
  return (
    <ConfirmDialog
      title="Move to trash?"
      message={
        <p>
          {what} will be moved to the trash. You can restore {entries.length === 1 ? "it" : "them"} from the Trash until it is emptied
          automatically after 30 days.
        </p>
      }
      confirmLabel="Move to trash"
      busy={del.isPending}
      onClose={onClose}
      onConfirm={async () => {
        await del.mutateAsync({ ids: entries.map((e) => e.id) });
        onDeleted();
      }}
    />
  );
}

