import type { Command } from "commander";
import type { Entry } from "../../client/client";
import { FilestoreError } from "../../client/errors";
import { joinPath, splitPath, type Node } from "../../client/paths";
import { createContext, type Context, type GlobalOptions } from "../context";
import { UsageError } from "../exit-codes";
import { humanDate, humanSize, table } from "../output";

// ls, mkdir, mv, cp, rm: the drive's tree by path.

function parentAndName(path: string): { parent: string; name: string } {
  const segs = splitPath(path);
  const name = segs.pop();
  if (!name) throw new UsageError(`${path} is the root folder`);
  return { parent: joinPath(...segs), name };
}

function sourcesAndDest(paths: string[], command: string): { sources: string[]; dest: string } {
  if (paths.length < 2) throw new UsageError(`${command} needs a source and a destination`);
  return { sources: paths.slice(0, -1), dest: paths[paths.length - 1]! };
}

export function entryJson(e: Entry, path?: string) {
  return { ...e, ...(path ? { path } : {}) };
}

function longRows(entries: Entry[]): string[][] {
  return entries.map((e) => [
    e.kind === "folder" ? "d" : "-",
    e.kind === "folder" ? "-" : humanSize(e.size ?? 0),
    humanDate(e.updatedAt),
    e.kind === "folder" ? `${e.name}/` : e.name,
  ]);
}

async function statAll(ctx: Context, paths: string[]): Promise<Entry[]> {
  const out: Entry[] = [];
  for (const p of paths) {
    const node = await ctx.paths.stat(p);
    if (node.id === null) throw new UsageError("The root folder cannot be moved, copied or removed");
    out.push(node);
  }
  return out;
}

/** The destination of mv/cp: an existing folder to put the sources in, or a new path for one source. */
async function destination(ctx: Context, dest: string, sources: number): Promise<{ folder: Node; name: string | null }> {
  const node = await ctx.paths.lookup(dest);
  if (node?.kind === "folder") return { folder: node, name: null };
  if (node) throw new FilestoreError("CONFLICT", `${joinPath(dest)} already exists`);
  if (sources > 1 || dest.endsWith("/")) throw new FilestoreError("NOT_FOUND", `No such folder: ${joinPath(dest)}`);
  const { parent, name } = parentAndName(dest);
  return { folder: await ctx.paths.folder(parent), name };
}

async function assertFree(ctx: Context, folderId: string | null, names: string[], folderPath: string) {
  const children = await ctx.paths.children(folderId);
  for (const name of names) {
    if (children.has(name)) throw new FilestoreError("CONFLICT", `${joinPath(folderPath, name)} already exists`);
  }
}

export function registerFiles(program: Command, globals: () => GlobalOptions): void {
  program
    .command("ls")
    .description("list a folder (default /), or show one file")
    .argument("[path]", "drive path", "/")
    .option("-l, --long", "kind, size, date and name")
    .action(async (path: string, opts: { long?: boolean }) => {
      const ctx = await createContext(globals());
      const node = await ctx.paths.stat(path);
      const entries = node.kind === "folder" ? await ctx.paths.listAll(node.id) : [node as Entry];
      ctx.out.result({ path: joinPath(path), items: entries });
      if (opts.long) {
        if (entries.length) ctx.out.line(table(longRows(entries), [1]));
      } else {
        for (const e of entries) ctx.out.line(e.kind === "folder" ? `${e.name}/` : e.name);
      }
    });

  program
    .command("mkdir")
    .description("create folders")
    .argument("<path...>", "drive paths")
    .option("-p, --parents", "create missing parents; no error if the folder exists")
    .action(async (paths: string[], opts: { parents?: boolean }) => {
      const ctx = await createContext(globals());
      const made: Entry[] = [];
      for (const p of paths) {
        if (opts.parents) {
          const node = await ctx.paths.mkdirp(p);
          if (node.id !== null) made.push(node);
        } else {
          const { parent, name } = parentAndName(p);
          const folder = await ctx.paths.folder(parent);
          made.push(await ctx.client.call((t) => t.file.mkdir.mutate({ parentId: folder.id, name })));
        }
        ctx.out.line(joinPath(p));
      }
      ctx.out.result({ folders: made });
    });

  program
    .command("mv")
    .description("move or rename: into an existing folder, or to a new path (one source)")
    .argument("<paths...>", "sources, then a folder to move them into or the new path (one source)")
    .action(async (paths: string[]) => {
      const { sources, dest } = sourcesAndDest(paths, "mv");
      const ctx = await createContext(globals());
      const entries = await statAll(ctx, sources);
      const target = await destination(ctx, dest, entries.length);
      if (target.name === null) {
        await assertFree(ctx, target.folder.id, entries.filter((e) => e.parentId !== target.folder.id).map((e) => e.name), dest);
        const moved = await ctx.client.call((t) => t.file.move.mutate({ ids: entries.map((e) => e.id), parentId: target.folder.id }));
        ctx.out.result({ moved });
      } else {
        const [entry] = entries as [Entry];
        let result = entry;
        if (entry.parentId === target.folder.id) {
          result = await ctx.client.call((t) => t.file.rename.mutate({ id: entry.id, name: target.name! }));
        } else {
          // Rename where it is, then move; undo the rename if the move is refused.
          await assertFree(ctx, target.folder.id, [target.name], joinPath(dest, ".."));
          if (entry.name !== target.name) await ctx.client.call((t) => t.file.rename.mutate({ id: entry.id, name: target.name! }));
          try {
            [result] = (await ctx.client.call((t) => t.file.move.mutate({ ids: [entry.id], parentId: target.folder.id }))) as unknown as [Entry];
          } catch (e) {
            if (entry.name !== target.name) await ctx.client.call((t) => t.file.rename.mutate({ id: entry.id, name: entry.name })).catch(() => {});
            throw e;
          }
        }
        ctx.out.result({ moved: [result] });
      }
      for (const s of sources) ctx.out.line(`${joinPath(s)} -> ${target.name === null ? joinPath(dest, splitPath(s).pop() ?? "") : joinPath(dest)}`);
    });

  program
    .command("cp")
    .description("copy files and folders (no bytes are copied: the copy shares the content)")
    .argument("<paths...>", "sources, then a folder to copy them into or the new path (one source)")
    .action(async (paths: string[]) => {
      const { sources, dest } = sourcesAndDest(paths, "cp");
      const ctx = await createContext(globals());
      const entries = await statAll(ctx, sources);
      const target = await destination(ctx, dest, entries.length);
      await assertFree(ctx, target.folder.id, target.name === null ? entries.map((e) => e.name) : [target.name], target.name === null ? dest : joinPath(dest, ".."));
      let copies = await ctx.client.call((t) => t.file.copy.mutate({ ids: entries.map((e) => e.id), parentId: target.folder.id }));
      if (target.name !== null) {
        const [copy] = copies as unknown as [Entry];
        copies = [await ctx.client.call((t) => t.file.rename.mutate({ id: copy.id, name: target.name! }))] as typeof copies;
      }
      ctx.out.result({ copies });
      for (const s of sources) ctx.out.line(`${joinPath(s)} -> ${target.name === null ? joinPath(dest, splitPath(s).pop() ?? "") : joinPath(dest)}`);
    });

  program
    .command("rm")
    .description("move files and folders to the trash (see `filestore trash`)")
    .argument("<path...>", "drive paths")
    .option("-r, --recursive", "also folders, with everything in them")
    .action(async (paths: string[], opts: { recursive?: boolean }) => {
      const ctx = await createContext(globals());
      const entries = await statAll(ctx, paths);
      const folder = entries.find((e) => e.kind === "folder");
      if (folder && !opts.recursive) throw new UsageError(`${folder.name} is a folder: use rm -r`);
      await ctx.client.call((t) => t.file.delete.mutate({ ids: entries.map((e) => e.id) }));
      for (const p of paths) ctx.out.line(`trashed ${joinPath(p)}`);
      ctx.out.result({ trashed: entries });
    });
}
