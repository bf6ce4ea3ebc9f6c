import type { Command } from "commander";
import { FilestoreError } from "../../client/errors";
import { createContext, type GlobalOptions } from "../context";
import { UsageError } from "../exit-codes";
import { humanDate, humanSize, table } from "../output";

// uploads [abort]: the open upload sessions (upload.pending), as the web drive's pending-uploads
// list shows them. An interrupted `filestore upload` resumes its own by itself; abort gives back
// the quota a session holds (it is reserved until the session completes, is aborted or expires).

export function registerUploads(program: Command, globals: () => GlobalOptions): void {
  const uploads = program
    .command("uploads")
    .description("open (unfinished) uploads: list them, or abort some")
    .action(async () => {
      const ctx = await createContext(globals());
      const pending = await ctx.client.call((t) => t.upload.pending.query());
      ctx.out.result({ uploads: pending });
      if (!pending.length) return ctx.out.note("No open uploads");
      ctx.out.line(
        table(
          [
            ["ID", "SIZE", "RECEIVED", "EXPIRES", "NAME"],
            ...pending.map((u) => [
              u.uploadId,
              humanSize(u.size),
              u.chunkCount ? `${Math.floor((u.receivedCount / u.chunkCount) * 100)}%` : "-",
              humanDate(u.expiresAt),
              u.name,
            ]),
          ],
          [1, 2],
        ),
      );
    });

  uploads
    .command("abort")
    .description("abort open uploads (their bytes are deleted, their reserved quota returned)")
    .argument("[id...]", "upload ids from `filestore uploads`")
    .option("--all", "every open upload")
    .action(async (ids: string[], opts: { all?: boolean }) => {
      if (!opts.all && !ids.length) throw new UsageError("Name the uploads to abort, or use --all");
      const ctx = await createContext(globals());
      const targets = opts.all ? (await ctx.client.call((t) => t.upload.pending.query())).map((u) => u.uploadId) : ids;
      const aborted: string[] = [];
      for (const uploadId of targets) {
        try {
          await ctx.client.call((t) => t.upload.abort.mutate({ uploadId }));
          aborted.push(uploadId);
          ctx.out.line(`aborted ${uploadId}`);
        } catch (e) {
          if (e instanceof FilestoreError && e.code === "NOT_FOUND") throw new FilestoreError("NOT_FOUND", `No open upload ${uploadId}`);
          throw e;
        }
      }
      ctx.out.result({ aborted });
    });
}
