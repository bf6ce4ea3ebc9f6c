import type { Command } from "commander";
import ms from "ms";
import { FilestoreError } from "../../client/errors";
import { joinPath } from "../../client/paths";
import { createContext, type GlobalOptions } from "../context";
import { UsageError } from "../exit-codes";
import { humanDate, table } from "../output";
import { passwordFrom } from "./auth";

// share, shares, unshare, and save (someone's link into your own drive).

/** "7d", "12h", "90 minutes" from now, or an absolute date ("2026-12-31", ISO 8601). */
export function parseExpiry(raw: string, now = Date.now()): Date {
  const span = /^\d/.test(raw) && !/^\d{4}-/.test(raw) ? ms(raw as ms.StringValue) : undefined;
  if (typeof span === "number" && Number.isFinite(span)) {
    if (span <= 0) throw new UsageError(`--expires must be in the future: ${raw}`);
    return new Date(now + span);
  }
  const date = new Date(raw);
  if (Number.isNaN(date.getTime())) throw new UsageError(`--expires: not a duration (7d, 12h) or a date: ${raw}`);
  if (date.getTime() <= now) throw new UsageError(`--expires must be in the future: ${raw}`);
  return date;
}

function positiveInt(raw: string): number {
  if (!/^[1-9][0-9]*$/.test(raw)) throw new UsageError(`--max-downloads must be a positive whole number, got ${raw}`);
  return Number(raw);
}

/** The token of a share URL (http…/s/<token>) or of a bare token; null for a drive path. */
function tokenOf(ref: string): string | null {
  if (/^https?:\/\//i.test(ref)) {
    const m = /\/s\/([A-Za-z0-9_-]+)\/?(?:[?#].*)?$/.exec(ref);
    if (!m) throw new UsageError(`Not a share link: ${ref}`);
    return m[1]!;
  }
  // Tokens are 43 characters of base64url (256 bits); a drive path has a slash or is shorter.
  return /^[A-Za-z0-9_-]{32,}$/.test(ref) ? ref : null;
}

export function registerShares(program: Command, globals: () => GlobalOptions): void {
  program
    .command("share")
    .description("create a share link for a file or folder")
    .argument("<path>", "drive path")
    .option("--password <password>", "visitors must give this password")
    .option("--password-stdin", "read the link's password from standard input")
    .option("--expires <when>", "the link stops working after a duration (7d, 12h) or at a date")
    .option("--max-downloads <n>", "the link stops working after n downloads", positiveInt)
    .action(async (path: string, opts: { password?: string; passwordStdin?: boolean; expires?: string; maxDownloads?: number }) => {
      const ctx = await createContext(globals());
      if (opts.password && opts.passwordStdin) throw new UsageError("Give either --password or --password-stdin");
      const password = opts.passwordStdin ? await passwordFrom({ passwordStdin: true }) : opts.password;
      const expiresAt = opts.expires ? parseExpiry(opts.expires) : undefined;
      const node = await ctx.paths.stat(path);
      if (node.id === null) throw new UsageError("The root folder cannot be shared");
      const id = node.id;
      const link = await ctx.client.call((t) => t.share.create.mutate({ id, password, expiresAt, maxDownloads: opts.maxDownloads }));
      const url = ctx.client.href(link.url);
      ctx.out.line(url);
      ctx.out.result({ token: link.token, url, path: joinPath(path), expiresAt: expiresAt ?? null, maxDownloads: opts.maxDownloads ?? null, hasPassword: !!password });
    });

  program
    .command("shares")
    .description("your share links")
    .action(async () => {
      const ctx = await createContext(globals());
      const shares = await ctx.client.call((t) => t.share.list.query());
      const rows = shares.map((s) => ({ ...s, url: ctx.client.href(s.url) }));
      ctx.out.result({ shares: rows });
      if (!rows.length) return ctx.out.note("No share links");
      ctx.out.line(
        table([
          ["URL", "STATE", "DOWNLOADS", "EXPIRES", "PASSWORD", "NAME"],
          ...rows.map((s) => [
            s.url,
            s.state,
            s.maxDownloads === null ? String(s.downloadCount) : `${s.downloadCount}/${s.maxDownloads}`,
            humanDate(s.expiresAt),
            s.hasPassword ? "yes" : "no",
            s.kind === "folder" ? `${s.entryName}/` : s.entryName,
          ]),
        ]),
      );
    });

  program
    .command("unshare")
    .description("revoke share links: by URL or token, or every link of a path")
    .argument("<link...>", 'share URLs, tokens, or drive paths (a token of an older link that starts with "-" goes after --)')
    .action(async (refs: string[]) => {
      const ctx = await createContext(globals());
      const tokens: string[] = [];
      for (const ref of refs) {
        const token = tokenOf(ref);
        if (token) {
          tokens.push(token);
          continue;
        }
        const node = await ctx.paths.stat(ref);
        const links = (await ctx.client.call((t) => t.share.list.query())).filter((s) => s.entryId === node.id);
        if (!links.length) throw new FilestoreError("NOT_FOUND", `${joinPath(ref)} has no share links`);
        tokens.push(...links.map((s) => s.token));
      }
      for (const token of tokens) await ctx.client.call((t) => t.share.revoke.mutate({ token }));
      for (const token of tokens) ctx.out.line(`revoked ${ctx.client.href(`/s/${token}`)}`);
      ctx.out.result({ revoked: tokens });
    });

  program
    .command("save")
    .description("copy what a share link holds into your drive (no bytes are copied)")
    .argument("<link>", "share URL or token")
    .argument("[folder]", "drive folder to put it in", "/")
    .option("--password-stdin", "read the link's password from standard input")
    .action(async (link: string, folder: string, opts: { passwordStdin?: boolean }) => {
      const ctx = await createContext(globals());
      const token = tokenOf(link);
      if (!token) throw new UsageError(`Not a share link or token: ${link}`);
      const password = opts.passwordStdin ? await passwordFrom({ passwordStdin: true }) : undefined;
      const target = await ctx.paths.folder(folder);
      const entry = await ctx.client.call((t) => t.share.save.mutate({ token, password, parentId: target.id }));
      const saved = joinPath(folder, entry.name);
      ctx.out.line(`saved ${saved}`);
      ctx.out.result({ saved: { ...entry, path: saved } });
    });
}
