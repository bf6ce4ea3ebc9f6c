import { Option, type Command } from "commander";
import { DEFAULT_PARALLEL, MiB } from "../../client/upload";
import { createContext, type GlobalOptions } from "../context";
import { EXIT, UsageError, worstExit, type ExitCode } from "../exit-codes";
import { humanSize } from "../output";
import { createProgress } from "../progress";
import { downloadTree } from "../transfer/download-tree";
import { uploadTree, type ConflictMode } from "../transfer/upload-tree";

// upload, download.

const conflictOption = () =>
  new Option("--on-conflict <mode>", "when the name is taken: error, skip, rename (name (1).ext) or overwrite").choices(["error", "skip", "rename", "overwrite"]).default("error");

function positive(name: string, max: number) {
  return (raw: string) => {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1 || n > max) throw new UsageError(`${name} must be a whole number from 1 to ${max}, got ${raw}`);
    return n;
  };
}

const parallelOption = () => new Option("-j, --parallel <n>", "files and chunks in flight at once").argParser(positive("--parallel", 32)).default(DEFAULT_PARALLEL);

function counts(items: Array<{ status: string }>): Record<string, number> {
  const c: Record<string, number> = {};
  for (const i of items) c[i.status] = (c[i.status] ?? 0) + 1;
  return c;
}

function summary(c: Record<string, number>): string {
  return Object.entries(c)
    .map(([k, v]) => `${v} ${k}`)
    .join(", ");
}

export function registerTransfer(program: Command, globals: () => GlobalOptions, setExit: (code: ExitCode) => void): void {
  program
    .command("upload")
    .description("upload files and folders (chunked, parallel, resumable; 秒传 when the drive already holds the content)")
    .argument("<paths...>", "local files or folders, then the drive folder or path (default /)")
    .addOption(conflictOption())
    .addOption(parallelOption())
    .addOption(new Option("--chunk-size <MiB>", "chunk size (the server may raise it)").argParser(positive("--chunk-size", 64)).default(8))
    .option("--no-instant", "do not announce digests (no 秒传; every byte is sent)")
    .addHelpText(
      "after",
      `
With one path it is uploaded to /. With several, the last is the drive folder that receives them
under their own names (created when missing): \`upload photos /backup\` makes /backup/photos/….
A single file to a path that is not a folder and does not end in / is uploaded as that path.
Killed and run again, an upload continues where it stopped; files already in the drive with the
same content are "up to date".`,
    )
    .action(async (paths: string[], opts: { onConflict: ConflictMode; parallel: number; chunkSize: number; instant: boolean }) => {
      const ctx = await createContext(globals());
      const sources = paths.length > 1 ? paths.slice(0, -1) : paths;
      const remote = paths.length > 1 ? paths[paths.length - 1]! : "/";
      const progress = createProgress({ enabled: ctx.out.chatty, tty: !!process.stderr.isTTY, verb: "upload" });
      let outcomes;
      try {
        outcomes = await uploadTree(ctx, sources, remote, { onConflict: opts.onConflict, parallel: opts.parallel, chunkSize: opts.chunkSize * MiB, instant: opts.instant }, progress);
      } finally {
        progress.stop();
      }
      const c = counts(outcomes);
      const sent = outcomes.reduce((s, o) => s + o.sentBytes, 0);
      ctx.out.result({ files: outcomes, summary: { ...c, sentBytes: sent } });
      if (ctx.out.chatty || outcomes.some((o) => o.status === "failed")) {
        process.stderr.write(`${summary(c) || "nothing to upload"}; ${humanSize(sent)} sent\n`);
      }
      for (const o of outcomes) if (o.error && !ctx.out.chatty && !ctx.out.json) process.stderr.write(`failed ${o.path}: ${o.error.message}\n`);
      setExit(worstExit(outcomes.filter((o) => o.error).map((o) => o.error!.exitCode as ExitCode)));
    });

  program
    .command("download")
    .description("download a file or a folder, verifying every file's SHA-256 (a .part left behind resumes)")
    .argument("<remote>", "drive path")
    .argument("[local]", "local folder (a folder goes inside it under its own name) or file path", ".")
    .addOption(conflictOption())
    .addOption(parallelOption())
    .option("-c, --continue", "treat a shorter local file as a partial download and resume it")
    .action(async (remote: string, local: string, opts: { onConflict: ConflictMode; parallel: number; continue?: boolean }) => {
      const ctx = await createContext(globals());
      const progress = createProgress({ enabled: ctx.out.chatty, tty: !!process.stderr.isTTY, verb: "download" });
      let outcomes;
      try {
        outcomes = await downloadTree(ctx, remote, local, { onConflict: opts.onConflict, parallel: opts.parallel, continue: !!opts.continue }, progress);
      } finally {
        progress.stop();
      }
      const c = counts(outcomes);
      const received = outcomes.reduce((s, o) => s + o.receivedBytes, 0);
      ctx.out.result({ files: outcomes, summary: { ...c, receivedBytes: received } });
      if (ctx.out.chatty || outcomes.some((o) => o.status === "failed")) {
        process.stderr.write(`${summary(c) || "nothing to download"}; ${humanSize(received)} received\n`);
      }
      for (const o of outcomes) if (o.error && !ctx.out.chatty && !ctx.out.json) process.stderr.write(`failed ${o.path}: ${o.error.message}\n`);
      setExit(worstExit(outcomes.filter((o) => o.error).map((o) => o.error!.exitCode as ExitCode)));
    });
}

export { EXIT };
