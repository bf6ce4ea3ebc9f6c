// What the user picked or dropped, as a tree: files with the folder path they sit in (relative to
// what was dropped), and every folder, empty ones included. Sources: a file <input> (plain or
// `webkitdirectory`, whose files carry `webkitRelativePath`) and a drop's DataTransfer, whose items
// are walked with the File and Directory Entries API (webkitGetAsEntry), the one every current
// browser implements for dropped folders.

export interface PickedFile {
  file: File;
  /** Folder names from the top of what was picked down to the file's folder; [] for a loose file. */
  dir: string[];
}

export interface PickedTree {
  files: PickedFile[];
  /** Every folder as its path of names, parents before children. */
  folders: string[][];
}

const pathKey = (path: string[]) => path.join("/");

/** Adds `dir` and its ancestors to `folders` (once each, parents first). */
function noteFolders(dir: string[], seen: Set<string>, folders: string[][]): void {
  for (let depth = 1; depth <= dir.length; depth++) {
    const path = dir.slice(0, depth);
    const key = pathKey(path);
    if (seen.has(key)) continue;
    seen.add(key);
    folders.push(path);
  }
}

/** From an <input type="file"> (with or without `webkitdirectory`). */
export function treeFromFileList(list: FileList | readonly File[]): PickedTree {
  const files: PickedFile[] = [];
  const folders: string[][] = [];
  const seen = new Set<string>();
  for (const file of Array.from(list)) {
    const parts = (file.webkitRelativePath || file.name).split("/").filter((p) => p !== "");
    const dir = parts.slice(0, -1);
    noteFolders(dir, seen, folders);
    files.push({ file, dir });
  }
  return { files, folders };
}

function readBatch(reader: FileSystemDirectoryReader): Promise<FileSystemEntry[]> {
  return new Promise((resolve, reject) => reader.readEntries(resolve, reject));
}

function fileOf(entry: FileSystemFileEntry): Promise<File> {
  return new Promise((resolve, reject) => entry.file(resolve, reject));
}

/**
 * The entries of a drop. Must be called synchronously inside the drop handler: a DataTransfer's
 * items are emptied once the event is over. Returns null when nothing in it is a file or folder.
 */
export function entriesOfDrop(dataTransfer: DataTransfer): { entries: FileSystemEntry[]; loose: File[] } | null {
  const entries: FileSystemEntry[] = [];
  const loose: File[] = [];
  for (const item of Array.from(dataTransfer.items)) {
    if (item.kind !== "file") continue;
    const entry = item.webkitGetAsEntry?.();
    if (entry) entries.push(entry);
    else {
      const file = item.getAsFile();
      if (file) loose.push(file);
    }
  }
  return entries.length + loose.length > 0 ? { entries, loose } : null;
}

/** Walks dropped entries into a tree (folders breadth by breadth; a directory is read in batches). */
export async function treeFromEntries(dropped: { entries: FileSystemEntry[]; loose: File[] }): Promise<PickedTree> {
  const files: PickedFile[] = dropped.loose.map((file) => ({ file, dir: [] }));
  const folders: string[][] = [];
  const seen = new Set<string>();
  const stack: Array<{ entry: FileSystemEntry; dir: string[] }> = dropped.entries.map((entry) => ({ entry, dir: [] }));
  // Depth-first in the order the browser lists entries, so parents are noted before children.
  while (stack.length > 0) {
    const { entry, dir } = stack.shift()!;
    if (entry.isFile) {
      files.push({ file: await fileOf(entry as FileSystemFileEntry), dir });
      continue;
    }
    if (!entry.isDirectory) continue;
    const path = [...dir, entry.name];
    noteFolders(path, seen, folders);
    const reader = (entry as FileSystemDirectoryEntry).createReader();
    const children: FileSystemEntry[] = [];
    // readEntries answers in batches (100 at a time in Chromium) until it answers with none.
    for (let batch = await readBatch(reader); batch.length > 0; batch = await readBatch(reader)) children.push(...batch);
    children.sort((a, b) => Number(b.isDirectory) - Number(a.isDirectory) || a.name.localeCompare(b.name));
    stack.unshift(...children.map((child) => ({ entry: child, dir: path })));
  }
  return { files, folders };
}
