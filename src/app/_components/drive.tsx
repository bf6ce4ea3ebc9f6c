"use client";

import Link from "next/link";
import { useRouter } from "next/navigation";
import { useCallback, useEffect, useMemo, useRef, useState, type DragEvent } from "react";
import { api } from "~/trpc/react";
import { ContextMenu, type MenuItem } from "./context-menu";
import { ConfirmDialog } from "./dialog";
import { entryDropTarget, isEntryDrag } from "./entry-drag";
import { errorCode, errorMessage } from "./errors";
import { Icon } from "./icons";
import { InlineNameForm } from "./inline-name-form";
import { contentHref, folderHref, Listing, type DriveEntry, type ListingHandlers, type Selection, type Sort } from "./listing";
import { MoveDialog } from "./move-dialog";
import { ShareDialog } from "./share-dialog";
import { AppShell, type Me } from "./shell";
import { ShortcutsHelp } from "./shortcuts";
import { entriesOfDrop, treeFromEntries, treeFromFileList } from "./transfers/tree";
import { useUploader } from "./upload-context";
import { PendingUploads } from "./upload-panel";
import { useDriveKeys } from "./use-drive-keys";
import { Viewer } from "./viewer";

// The drive page: breadcrumbs (drop targets too), toolbar (search, new folder, upload files, upload
// a folder), the listing, multi-select actions, drag and drop (files and folder trees from the
// desktop upload here; entries dragged onto a folder or a breadcrumb move, or copy with Ctrl/Alt),
// the right-click menu, keyboard shortcuts with their help (?), the viewer, and the dialogs.

export function Drive({ me, folderId, retentionDays }: { me: Me; folderId: string | null; retentionDays: number }) {
  return (
    <AppShell me={me} section="drive">
      <DriveView folderId={folderId} retentionDays={retentionDays} />
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
  | { kind: "move" | "copy"; entries: DriveEntry[] }
  | { kind: "share"; entry: DriveEntry }
  | { kind: "help" }
  | null;

type Clipboard = { mode: "copy" | "cut"; entries: DriveEntry[] } | null;

function DriveView({ folderId, retentionDays }: { folderId: string | null; retentionDays: number }) {
  const utils = api.useUtils();
  const router = useRouter();
  const uploader = useUploader();
  const move = api.file.move.useMutation();
  const copy = api.file.copy.useMutation();
  const [query, setQuery] = useState("");
  const q = useDebounced(query.trim(), 250);
  const [creating, setCreating] = useState(false);
  const [selected, setSelected] = useState<Selection>(new Map());
  const [focusedId, setFocusedId] = useState<string | null>(null);
  const [renamingId, setRenamingId] = useState<string | null>(null);
  const [sort, setSort] = useState<Sort>({ sort: "name", order: "asc" });
  const [dragging, setDragging] = useState(false);
  const [pending, setPending] = useState<Pending>(null);
  const [viewing, setViewing] = useState<DriveEntry | null>(null);
  const [menu, setMenu] = useState<{ x: number; y: number; entry: DriveEntry | null } | null>(null);
  const [clipboard, setClipboard] = useState<Clipboard>(null);
  const [notice, setNotice] = useState<{ text: string; error: boolean } | null>(null);
  const [listed, setListed] = useState<Readonly<Record<string, DriveEntry[]>>>({});
  const fileInput = useRef<HTMLInputElement>(null);
  const folderInput = useRef<HTMLInputElement>(null);
  const search = useRef<HTMLInputElement>(null);
  const path = api.file.path.useQuery({ id: folderId ?? "" }, { enabled: folderId !== null });

  // Another folder: start clean.
  useEffect(() => {
    setSelected(new Map());
    setFocusedId(null);
    setRenamingId(null);
    setQuery("");
    setCreating(false);
    setNotice(null);
  }, [folderId]);

  // Good news goes away by itself; errors stay until dismissed.
  useEffect(() => {
    if (!notice || notice.error) return;
    const timer = setTimeout(() => setNotice(null), 6000);
    return () => clearTimeout(timer);
  }, [notice]);

  const searching = q.length > 0;
  const listKey = searching ? `q:${q}` : `f:${folderId ?? ""}`;
  // Only the entries of the listing on screen (a late answer for another folder never counts).
  const items = listed[listKey] ?? [];
  const refresh = useCallback(() => {
    void utils.file.list.invalidate();
    void utils.file.path.invalidate();
    void utils.user.me.invalidate();
  }, [utils]);

  const open = useCallback(
    (entry: DriveEntry) => {
      if (entry.kind === "folder") router.push(folderHref(entry.id));
      else setViewing(entry);
    },
    [router],
  );

  /** Moves or copies entries into a folder (drag and drop, paste). */
  const transfer = useCallback(
    async (ids: string[], target: string | null, mode: "move" | "copy") => {
      setNotice(null);
      try {
        if (mode === "copy") await copy.mutateAsync({ ids, parentId: target });
        else await move.mutateAsync({ ids, parentId: target });
        setSelected(new Map());
        setNotice({ text: `${mode === "copy" ? "Copied" : "Moved"} ${ids.length === 1 ? "1 item" : `${ids.length} items`}.`, error: false });
        refresh();
      } catch (e) {
        const code = errorCode(e);
        setNotice({ text: code === "CONFLICT" || code === "BAD_REQUEST" ? (e as Error).message : errorMessage(e), error: true });
      }
    },
    [copy, move, refresh],
  );

  const uploadFiles = (files: File[]) => {
    if (files.length > 0) uploader.addFiles(files, folderId);
  };

  function onDragOver(e: DragEvent) {
    if (isEntryDrag(e) || !e.dataTransfer.types.includes("Files")) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = "copy";
    setDragging(true);
  }

  function onDrop(e: DragEvent) {
    if (isEntryDrag(e) || !e.dataTransfer.types.includes("Files")) return;
    e.preventDefault();
    setDragging(false);
    // Entries must be taken now: the DataTransfer is emptied once the event is over.
    const dropped = entriesOfDrop(e.dataTransfer);
    if (!dropped) return;
    const target = folderId;
    treeFromEntries(dropped)
      .then((tree) => uploader.addTree(tree, target))
      .catch((err: unknown) => setNotice({ text: `Could not read what was dropped: ${err instanceof Error ? err.message : err}`, error: true }));
  }

  const handlers: ListingHandlers = useMemo(
    () => ({
      onSelect: setSelected,
      onFocus: setFocusedId,
      onOpen: open,
      onRename: (entry) => setRenamingId(entry.id),
      onRenameDone: () => setRenamingId(null),
      onDelete: (entry) => setPending({ kind: "delete", entries: [entry] }),
      onMove: (entry) => setPending({ kind: "move", entries: [entry] }),
      onShare: (entry) => setPending({ kind: "share", entry }),
      onContextMenu: (at, entry) => setMenu({ ...at, entry }),
      onDropEntries: (ids, target, asCopy) => void transfer(ids, target, asCopy ? "copy" : "move"),
      onItems: (key, entries) => setListed((all) => (all[key] === entries ? all : { ...all, [key]: entries })),
      onUploadClick: () => fileInput.current?.click(),
    }),
    [open, transfer],
  );

  const paste = () => {
    if (!clipboard || searching) return;
    void transfer(
      clipboard.entries.map((e) => e.id),
      folderId,
      clipboard.mode === "cut" ? "move" : "copy",
    );
    if (clipboard.mode === "cut") setClipboard(null);
  };

  useDriveKeys({
    items: () => items,
    focusedId: () => focusedId,
    selected: () => selected,
    focus: setFocusedId,
    select: setSelected,
    open,
    up: () => {
      if (folderId === null) return;
      const trail = path.data ?? [];
      router.push(folderHref(trail.length >= 2 ? trail[trail.length - 2]!.id : null));
    },
    rename: (entry) => setRenamingId(entry.id),
    trash: (entries) => setPending({ kind: "delete", entries }),
    copy: (entries) => {
      setClipboard({ mode: "copy", entries });
      setNotice({ text: `${entries.length === 1 ? "1 item" : `${entries.length} items`} copied: Ctrl+V pastes into a folder.`, error: false });
    },
    cut: (entries) => {
      setClipboard({ mode: "cut", entries });
      setNotice({ text: `${entries.length === 1 ? "1 item" : `${entries.length} items`} cut: Ctrl+V moves them into a folder.`, error: false });
    },
    paste,
    menu: (entry) => {
      const rect = document.querySelector(`[data-testid="entry"][data-id="${CSS.escape(entry.id)}"]`)?.getBoundingClientRect();
      setMenu({ x: (rect?.left ?? 100) + 40, y: (rect?.bottom ?? 100) - 4, entry });
    },
    newFolder: () => !searching && setCreating(true),
    uploadFiles: () => fileInput.current?.click(),
    uploadFolder: () => folderInput.current?.click(),
    search: () => search.current?.focus(),
    help: () => setPending({ kind: "help" }),
  });

  const menuItems = (entry: DriveEntry | null): Array<MenuItem | "separator"> => {
    if (!entry) {
      return [
        { label: "New folder", icon: "folderPlus", shortcut: "N", disabled: searching, onSelect: () => setCreating(true) },
        { label: "Upload files", icon: "upload", shortcut: "U", onSelect: () => fileInput.current?.click() },
        { label: "Upload a folder", icon: "folder", shortcut: "Shift+U", onSelect: () => folderInput.current?.click() },
        { label: "Paste", icon: "copy", shortcut: "Ctrl+V", disabled: !clipboard || searching, onSelect: paste },
        "separator",
        { label: "Keyboard shortcuts", icon: "keyboard", shortcut: "?", onSelect: () => setPending({ kind: "help" }) },
      ];
    }
    const many = selected.size > 1 && selected.has(entry.id) ? [...selected.values()] : [entry];
    const isFile = entry.kind === "file";
    return [
      { label: isFile ? "Preview" : "Open", icon: isFile ? "eye" : "folderOpen", shortcut: "Enter", onSelect: () => open(entry) },
      ...(isFile
        ? [
            {
              label: "Download",
              icon: "download" as const,
              onSelect: () => {
                const a = document.createElement("a");
                a.href = contentHref(entry.id);
                a.download = entry.name;
                a.click();
              },
            },
          ]
        : []),
      "separator",
      { label: "Rename", icon: "rename", shortcut: "F2", disabled: many.length > 1, onSelect: () => setRenamingId(entry.id) },
      { label: "Move to…", icon: "move", onSelect: () => setPending({ kind: "move", entries: many }) },
      { label: "Copy to…", icon: "copy", onSelect: () => setPending({ kind: "copy", entries: many }) },
      { label: "Share", icon: "share", disabled: many.length > 1, onSelect: () => setPending({ kind: "share", entry }) },
      "separator",
      { label: "Move to trash", icon: "trash", shortcut: "Del", danger: true, onSelect: () => setPending({ kind: "delete", entries: many }) },
    ];
  };

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
        {searching ? <h1 className="crumbs">Results for “{q}”</h1> : <Breadcrumbs folderId={folderId} trail={path.data} onDropEntries={handlers.onDropEntries} />}
        <div className="toolbar">
          <label className="search">
            <Icon name="search" size={16} />
            <input
              ref={search}
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
          <button type="button" className="button secondary" onClick={() => folderInput.current?.click()} disabled={searching} data-testid="upload-folder">
            <Icon name="folder" />
            Upload folder
          </button>
          <button type="button" className="button primary" onClick={() => fileInput.current?.click()} disabled={searching} data-testid="upload">
            <Icon name="upload" />
            Upload
          </button>
          <button type="button" className="icon-button" title="Keyboard shortcuts (?)" aria-label="Keyboard shortcuts" onClick={() => setPending({ kind: "help" })} data-testid="shortcuts">
            <Icon name="keyboard" />
          </button>
          <input
            ref={fileInput}
            type="file"
            multiple
            hidden
            data-testid="file-input"
            onChange={(e) => {
              uploadFiles(Array.from(e.target.files ?? []));
              e.target.value = "";
            }}
          />
          <input
            ref={folderInput}
            type="file"
            hidden
            data-testid="folder-input"
            // The directory picker: every file of the chosen folder, with its path inside it.
            {...{ webkitdirectory: "", directory: "" }}
            onChange={(e) => {
              const files = e.target.files;
              if (files && files.length > 0) uploader.addTree(treeFromFileList(files), folderId);
              e.target.value = "";
            }}
          />
        </div>
      </div>

      {notice && (
        <div className={notice.error ? "notice error toast" : "notice info toast"} role={notice.error ? "alert" : "status"} data-testid="drive-notice">
          {notice.text}
          <button type="button" className="icon-button" aria-label="Dismiss" onClick={() => setNotice(null)}>
            <Icon name="close" size={14} />
          </button>
        </div>
      )}

      <PendingUploads />

      {creating && !searching && <NewFolderForm parentId={folderId} onDone={() => setCreating(false)} />}

      {selected.size > 0 && (
        <div className="selection-bar" data-testid="selection-bar">
          <span>{selected.size} selected</span>
          <button type="button" className="button secondary small" data-testid="delete-selected" onClick={() => setPending({ kind: "delete", entries: [...selected.values()] })}>
            <Icon name="trash" size={16} />
            Delete
          </button>
          <button type="button" className="button secondary small" data-testid="move-selected" onClick={() => setPending({ kind: "move", entries: [...selected.values()] })}>
            <Icon name="move" size={16} />
            Move
          </button>
          <button type="button" className="button secondary small" data-testid="copy-selected" onClick={() => setPending({ kind: "copy", entries: [...selected.values()] })}>
            <Icon name="copy" size={16} />
            Copy
          </button>
          <button type="button" className="button link" onClick={() => setSelected(new Map())}>
            Clear selection
          </button>
        </div>
      )}

      <Listing
        key={listKey}
        listKey={listKey}
        input={searching ? { q } : { parentId: folderId }}
        searching={searching}
        sort={sort}
        onSort={setSort}
        selected={selected}
        focusedId={focusedId}
        renamingId={renamingId}
        handlers={handlers}
      />

      {dragging && (
        <div className="drop-hint" aria-hidden>
          <Icon name="upload" size={28} />
          Drop files or folders to upload them here
        </div>
      )}

      {menu && <ContextMenu x={menu.x} y={menu.y} items={menuItems(menu.entry)} onClose={() => setMenu(null)} />}

      {viewing && (
        <Viewer entry={viewing} files={items.filter((e) => e.kind === "file")} onNavigate={setViewing} onClose={() => setViewing(null)} />
      )}

      {pending?.kind === "help" && <ShortcutsHelp onClose={() => setPending(null)} />}
      {pending?.kind === "delete" && (
        <DeleteDialog
          entries={pending.entries}
          retentionDays={retentionDays}
          onClose={() => setPending(null)}
          onDeleted={() => {
            setPending(null);
            setSelected(new Map());
            refresh();
            void utils.trash.list.invalidate();
          }}
        />
      )}
      {(pending?.kind === "move" || pending?.kind === "copy") && (
        <MoveDialog
          entries={pending.entries}
          mode={pending.kind}
          onClose={() => setPending(null)}
          onMoved={() => {
            setPending(null);
            setSelected(new Map());
            refresh();
          }}
        />
      )}
      {pending?.kind === "share" && <ShareDialog entry={pending.entry} onClose={() => setPending(null)} />}
    </div>
  );
}

function Breadcrumbs({
  folderId,
  trail: loaded,
  onDropEntries,
}: {
  folderId: string | null;
  trail: Array<{ id: string; name: string }> | undefined;
  onDropEntries: ListingHandlers["onDropEntries"];
}) {
  if (folderId === null) return <h1 className="crumbs">My drive</h1>;
  const trail = loaded ?? [];
  return (
    <nav className="crumbs" aria-label="Breadcrumbs" data-testid="breadcrumbs">
      <CrumbLink folderId={null} name="My drive" onDropEntries={onDropEntries} />
      {trail.map((entry, i) => (
        <span key={entry.id} className="crumb">
          <Icon name="chevron" size={16} className="crumb-sep" />
          {i === trail.length - 1 ? <h1 aria-current="page">{entry.name}</h1> : <CrumbLink folderId={entry.id} name={entry.name} onDropEntries={onDropEntries} />}
        </span>
      ))}
      {loaded === undefined && <span className="crumb muted-inline">…</span>}
    </nav>
  );
}

/** A breadcrumb: a link, and a place to drop entries to move them up the tree. */
function CrumbLink({ folderId, name, onDropEntries }: { folderId: string | null; name: string; onDropEntries: ListingHandlers["onDropEntries"] }) {
  const [over, setOver] = useState(false);
  return (
    <Link href={folderHref(folderId)} className={over ? "crumb-link drop-target" : "crumb-link"} data-testid="crumb" {...entryDropTarget(folderId, onDropEntries, setOver)}>
      {name}
    </Link>
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

export function retentionText(days: number): string {
  if (days <= 0) return "right away";
  return days === 1 ? "after 1 day" : `after ${days} days`;
}

function DeleteDialog({
  entries,
  retentionDays,
  onClose,
  onDeleted,
}: {
  entries: DriveEntry[];
  retentionDays: number;
  onClose: () => void;
  onDeleted: () => void;
}) {
  const del = api.file.delete.useMutation();
  const what = entries.length === 1 ? `“${entries[0]!.name}”` : `${entries.length} items`;
  return (
    <ConfirmDialog
      title="Move to trash?"
      message={
        <p data-testid="delete-retention">
          {what} will be moved to the trash. You can restore {entries.length === 1 ? "it" : "them"} from the Trash until it is emptied
          automatically {retentionText(retentionDays)}.
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
