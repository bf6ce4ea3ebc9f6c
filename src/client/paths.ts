import type { Entry, FilestoreClient } from "./client";
import { FilestoreError } from "./errors";

// Drive paths (`/a/b.txt`) over an API of ids: resolved one folder at a time from the root, with
// the folder listings of one command cached (a tree upload asks the same folders many times).

/** The drive's root folder, which has no entry of its own. */
export interface RootFolder {
  id: null;
  kind: "folder";
  name: "";
}
export const ROOT: RootFolder = { id: null, kind: "folder", name: "" };
export type Node = Entry | RootFolder;

/** `/a//b/./c/` → ["a", "b", "c"]; `..` goes up; a drive path is always from the root. */
export function splitPath(path: string): string[] {
  const out: string[] = [];
  for (const seg of path.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") out.pop();
    else out.push(seg);
  }
  return out;
}

export function joinPath(...segments: string[]): string {
  return `/${segments.flatMap(splitPath).join("/")}`;
}

export function isFolder(node: Node): boolean {
  return node.kind === "folder";
}

export class DrivePaths {
  /** folder id ("" for the root) → its live entries by name */
  private readonly listings = new Map<string, Promise<Map<string, Entry>>>();

  constructor(private readonly client: FilestoreClient) {}

  /** Every live entry of a folder, all pages. */
  async listAll(parentId: string | null): Promise<Entry[]> {
    const items: Entry[] = [];
    let cursor: string | null = null;
    do {
      const page: { items: Entry[]; nextCursor: string | null } = await this.client.call((t) =>
        t.file.list.query({ parentId, cursor, limit: 1000, sort: "name", order: "asc" }),
      );
      items.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor);
    return items;
  }

  /** A folder's entries by name (cached for the life of this object; see forget). */
  children(parentId: string | null): Promise<Map<string, Entry>> {
    const key = parentId ?? "";
    let listing = this.listings.get(key);
    if (!listing) {
      listing = this.listAll(parentId).then((items) => new Map(items.map((e) => [e.name, e])));
      listing.catch(() => this.listings.delete(key));
      this.listings.set(key, listing);
    }
    return listing;
  }

  /** Drops a folder's cached listing (after something changed in it). */
  forget(parentId: string | null): void {
    this.listings.delete(parentId ?? "");
  }

  /** Records an entry this command created, without listing its folder again. */
  async remember(entry: Entry): Promise<void> {
    const listing = this.listings.get(entry.parentId ?? "");
    if (listing) (await listing).set(entry.name, entry);
  }

  async child(parentId: string | null, name: string): Promise<Entry | null> {
    return (await this.children(parentId)).get(name) ?? null;
  }

  /** The entry at `path`, or null when nothing is there. */
  async lookup(path: string): Promise<Node | null> {
    let node: Node = ROOT;
    for (const name of splitPath(path)) {
      if (node.kind !== "folder") return null;
      const next = await this.child(node.id, name);
      if (!next) return null;
      node = next;
    }
    return node;
  }

  /** The entry at `path`; NOT_FOUND when nothing is there. */
  async stat(path: string): Promise<Node> {
    const node = await this.lookup(path);
    if (!node) throw new FilestoreError("NOT_FOUND", `No such file or folder: ${joinPath(path)}`);
    return node;
  }

  /** The folder at `path`; NOT_FOUND, or CONFLICT when a file is there. */
  async folder(path: string): Promise<Node> {
    const node = await this.stat(path);
    if (node.kind !== "folder") throw new FilestoreError("CONFLICT", `Not a folder: ${joinPath(path)}`);
    return node;
  }

  /** The folder at `path`, creating it and its missing parents (mkdir -p); CONFLICT when a file is in the way. */
  async mkdirp(path: string): Promise<Node> {
    let node: Node = ROOT;
    const done: string[] = [];
    for (const name of splitPath(path)) {
      done.push(name);
      let next = await this.child(node.id, name);
      if (!next) next = await this.mkdir(node.id, name);
      if (next.kind !== "folder") throw new FilestoreError("CONFLICT", `Not a folder: ${joinPath(...done)}`);
      node = next;
    }
    return node;
  }

  private readonly creating = new Map<string, Promise<Entry>>();

  /** Creates one folder; when it appeared meanwhile (another worker, another client) that one is used. */
  mkdir(parentId: string | null, name: string): Promise<Entry> {
    // Parallel workers of one command creating the same folder share one request.
    const key = `${parentId ?? ""}/${name}`;
    let pending = this.creating.get(key);
    if (!pending) {
      pending = this.createFolder(parentId, name).finally(() => this.creating.delete(key));
      this.creating.set(key, pending);
    }
    return pending;
  }

  private async createFolder(parentId: string | null, name: string): Promise<Entry> {
    try {
      const created = await this.client.call((t) => t.file.mkdir.mutate({ parentId, name }));
      await this.remember(created);
      return created;
    } catch (e) {
      if (!(e instanceof FilestoreError && e.code === "CONFLICT")) throw e;
      this.forget(parentId);
      const existing = await this.child(parentId, name);
      if (!existing) throw e;
      return existing;
    }
  }

  /** Root-first path of an entry, e.g. `/a/b.txt`. */
  async pathOf(id: string): Promise<string> {
    const chain = await this.client.call((t) => t.file.path.query({ id }));
    return joinPath(...chain.map((e) => e.name));
  }
}
