import type { Command } from "commander";
import { read } from "read";
import type { RouterOutputs } from "../../client/client";
import { FilestoreError } from "../../client/errors";
import { createContext, type Context, type GlobalOptions } from "../context";
import { UsageError } from "../exit-codes";
import { humanDate, humanSize, table } from "../output";

// trash ls | restore | empty.

type TrashItem = RouterOutputs["trash"]["list"]["items"][number];

async function allTrash(ctx: Context): Promise<TrashItem[]> {
  const items: TrashItem[] = [];
  let cursor: string | null = null;
  do {
    const page: RouterOutputs["trash"]["list"] = await ctx.client.call((t) => t.trash.list.query({ cursor, limit: 1000 }));
    items.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return items;
}

/** Trash items by id or by name; a name that several items share must be given by id. */
function pick(items: TrashItem[], refs: string[]): TrashItem[] {
  return refs.map((ref) => {
    const byId = items.find((i) => i.id === ref);
    if (byId) return byId;
    const named = items.filter((i) => i.name === ref || i.name === ref.replace(/^\/+/, ""));
    if (named.length === 0) throw new FilestoreError("NOT_FOUND", `Not in the trash: ${ref}`);
    if (named.length > 1) {
      throw new FilestoreError("CONFLICT", `${named.length} items in the trash are named ${ref}; restore one by id: ${named.map((i) => i.id).join(", ")}`);
    }
    return named[0]!;
  });
}

export function registerTrash(program: Command, globals: () => GlobalOptions): void {
  const trash = program.command("trash").description("list, restore or empty the trash");

  trash
    .command("ls")
    .description("what is in the trash, newest first")
    .action(async () => {
      const ctx = await createContext(globals());
      const items = await allTrash(ctx);
      ctx.out.result({ items });
      if (!items.length) return ctx.out.note("The trash is empty");
      ctx.out.line(
        table(
          [["ID", "SIZE", "TRASHED", "PURGED", "NAME"], ...items.map((i) => [i.id, humanSize(i.totalSize), humanDate(i.trashedAt), humanDate(i.purgeAt), i.kind === "folder" ? `${i.name}/` : i.name])],
          [1],
        ),
      );
    });

  trash
    .command("restore")
    .description("put items back where they were (a taken name gets a suffix)")
    .argument("<item...>", "names or ids from `filestore trash ls`")
    .action(async (refs: string[]) => {
      const ctx = await createContext(globals());
      const chosen = pick(await allTrash(ctx), refs);
      const restored = await ctx.client.call((t) => t.trash.restore.mutate({ ids: chosen.map((i) => i.id) }));
      const paths = await Promise.all(restored.map((e) => ctx.paths.pathOf(e.id)));
      for (const p of paths) ctx.out.line(`restored ${p}`);
      ctx.out.result({ restored: restored.map((e, i) => ({ ...e, path: paths[i] })) });
    });

  trash
    .command("empty")
    .description("delete everything in the trash for good (or only the items named)")
    .argument("[item...]", "names or ids; all when none")
    .option("-y, --yes", "do not ask for confirmation on a terminal")
    .action(async (refs: string[], opts: { yes?: boolean }) => {
      const ctx = await createContext(globals());
      const ids = refs.length ? pick(await allTrash(ctx), refs).map((i) => i.id) : undefined;
      if (!opts.yes && process.stdin.isTTY && !ctx.out.json) {
        const answer = await read({ prompt: `Delete ${ids ? `${ids.length} item(s)` : "everything in the trash"} for good? [y/N] `, output: process.stderr });
        if (!/^y(es)?$/i.test(answer.trim())) throw new UsageError("Cancelled");
      }
      const result = await ctx.client.call((t) => t.trash.purge.mutate(ids ? { ids } : {}));
      ctx.out.line(`Deleted ${result.items} item(s), ${result.entries} entr${result.entries === 1 ? "y" : "ies"}, ${humanSize(result.bytes)}`);
      ctx.out.result(result);
    });
}
