// Dragging drive entries inside the page (onto a folder row or a breadcrumb, to move them; with
// Ctrl or Alt held, to copy them). The payload travels as a private type in the DataTransfer, and
// the ids are also kept here, because a page may read a drag's data only when it is dropped, not
// while it hovers (and a folder must not offer itself as a target for its own drag).

export const ENTRY_DRAG_TYPE = "application/x-filestore-entries";

let dragging: readonly string[] = [];

export function startEntryDrag(e: React.DragEvent, ids: readonly string[], label: string): void {
  dragging = ids;
  e.dataTransfer.setData(ENTRY_DRAG_TYPE, JSON.stringify(ids));
  e.dataTransfer.setData("text/plain", label);
  e.dataTransfer.effectAllowed = "copyMove";
}

export function endEntryDrag(): void {
  dragging = [];
}

/** Whether this drag carries drive entries (not files from the desktop). */
export function isEntryDrag(e: React.DragEvent): boolean {
  return e.dataTransfer.types.includes(ENTRY_DRAG_TYPE);
}

/** The ids being dragged right now (empty when the drag came from elsewhere). */
export function draggedIds(): readonly string[] {
  return dragging;
}

/** The ids carried by a drop. */
export function droppedIds(e: React.DragEvent): string[] {
  try {
    const ids = JSON.parse(e.dataTransfer.getData(ENTRY_DRAG_TYPE)) as unknown;
    if (Array.isArray(ids) && ids.every((id) => typeof id === "string")) return ids;
  } catch {
    // not ours
  }
  return [...dragging];
}

/** Ctrl (Windows, Linux) or Alt/Option (macOS) held at the drop: copy instead of move. */
export const wantsCopy = (e: React.DragEvent) => e.ctrlKey || e.altKey;

/** Props that make an element a drop target for entries, into `folderId`. */
export function entryDropTarget(
  folderId: string | null,
  onDrop: (ids: string[], folderId: string | null, copy: boolean) => void,
  setOver: (over: boolean) => void,
) {
  return {
    onDragOver(e: React.DragEvent) {
      if (!isEntryDrag(e) || (folderId !== null && draggedIds().includes(folderId))) return;
      e.preventDefault();
      e.stopPropagation();
      e.dataTransfer.dropEffect = wantsCopy(e) ? "copy" : "move";
      setOver(true);
    },
    onDragLeave(e: React.DragEvent) {
      if (!e.currentTarget.contains(e.relatedTarget as Node | null)) setOver(false);
    },
    onDrop(e: React.DragEvent) {
      if (!isEntryDrag(e)) return;
      e.preventDefault();
      e.stopPropagation();
      setOver(false);
      const ids = droppedIds(e).filter((id) => id !== folderId);
      endEntryDrag();
      if (ids.length > 0) onDrop(ids, folderId, wantsCopy(e));
    },
  };
}
