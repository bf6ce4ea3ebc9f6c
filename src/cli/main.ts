import { Command, CommanderError, Option } from "commander";
import pkg from "../../package.json" with { type: "json" };
import { FilestoreError } from "../client/errors";
import { registerAuth } from "./commands/auth";
import { registerFiles } from "./commands/files";
import { registerShares } from "./commands/shares";
import { registerTransfer } from "./commands/transfer";
import { registerTrash } from "./commands/trash";
import { registerUploads } from "./commands/uploads";
import type { GlobalOptions } from "./context";
import { EXIT, exitCodeFor, type ExitCode } from "./exit-codes";

// `filestore`: the drive from a terminal or a script. Every command takes --url (or FILESTORE_URL,
// or the server of the last login), --json and --quiet; exit codes are in exit-codes.ts.

export function buildProgram(setExit: (code: ExitCode) => void): Command {
  const program = new Command("filestore");
  program
    .description("The filestore drive from the command line: files, folders, uploads, downloads, trash and share links.")
    .version(pkg.version, "-V, --version")
    .addOption(new Option("--url <url>", "the drive's address (default: $FILESTORE_URL, else the server of the last login)"))
    .option("--json", "print the result as JSON on stdout (no progress output)")
    .option("-q, --quiet", "no progress output")
    .showHelpAfterError("(add --help for usage)")
    .configureHelp({ showGlobalOptions: true })
    .addHelpText(
      "after",
      `
Paths in the drive are written like /folder/file.txt. Exit codes: 0 ok, 1 error, 2 usage,
3 not signed in or not allowed, 4 not found, 5 conflict (name taken), 6 network, 7 quota,
8 integrity (SHA-256 mismatch), 9 rate limited.`,
    );
  const globals = () => program.opts<GlobalOptions>();
  registerAuth(program, globals);
  registerFiles(program, globals);
  registerTrash(program, globals);
  registerTransfer(program, globals, setExit);
  registerUploads(program, globals);
  registerShares(program, globals);
  // Usage errors are ours to number (commander's default is 1); help everywhere.
  const configure = (cmd: Command) => {
    cmd.exitOverride();
    cmd.configureOutput({ writeErr: (s) => process.stderr.write(s), writeOut: (s) => process.stdout.write(s) });
    for (const sub of cmd.commands) configure(sub);
  };
  configure(program);
  return program;
}

function report(e: unknown, json: boolean): void {
  const message = e instanceof Error ? e.message : String(e);
  if (json) {
    const code = e instanceof FilestoreError ? e.code : e instanceof Error && e.name === "UsageError" ? "USAGE" : "ERROR";
    process.stderr.write(`${JSON.stringify({ error: { code, message, exitCode: exitCodeFor(e) } })}\n`);
  } else {
    process.stderr.write(`filestore: ${message}\n`);
  }
}

export async function main(argv: string[]): Promise<ExitCode> {
  let exitCode: ExitCode = EXIT.OK;
  const program = buildProgram((code) => (exitCode = code));
  try {
    await program.parseAsync(argv, { from: "user" });
    return exitCode;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version exit 0; help shown for a missing command, and every parse error, are usage errors
      // (commander has printed the message already).
      return e.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    }
    report(e, !!program.opts<GlobalOptions>().json);
    return exitCodeFor(e);
  }
}

// Should the work ever stall with nothing left to wait on, node ends the process: that must not
// look like success.
process.exitCode = EXIT.ERROR;
const code = await main(process.argv.slice(2));
// Let stdout drain (a pipe) before leaving; keep-alive sockets must not hold the process open.
process.exitCode = code;
process.stdout.write("", () => process.exit(code));
