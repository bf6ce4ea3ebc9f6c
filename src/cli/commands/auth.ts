import type { Command } from "commander";
import { read } from "read";
import { FilestoreError } from "../../client/errors";
import { setDefaultServer } from "../config";
import { createContext, type Context, type GlobalOptions } from "../context";
import { UsageError } from "../exit-codes";
import { humanSize } from "../output";

// login, signup, logout, whoami.

interface LoginOptions {
  username?: string;
  passwordStdin?: boolean;
  otp?: string;
}

async function readStdin(): Promise<string> {
  const parts: Buffer[] = [];
  for await (const buf of process.stdin) parts.push(buf as Buffer);
  return Buffer.concat(parts).toString("utf8");
}

/** The password: from stdin (--password-stdin, one trailing newline dropped), else asked on the terminal. */
export async function passwordFrom(opts: { passwordStdin?: boolean }, prompt = "Password: "): Promise<string> {
  if (opts.passwordStdin) {
    const text = (await readStdin()).replace(/\r?\n$/, "");
    if (!text) throw new UsageError("--password-stdin: nothing on standard input");
    return text;
  }
  if (!process.stdin.isTTY) throw new UsageError("No terminal to ask for the password: use --password-stdin");
  return read({ prompt, silent: true, replace: "", output: process.stderr });
}

async function usernameFrom(opts: LoginOptions): Promise<string> {
  if (opts.username) return opts.username;
  if (!process.stdin.isTTY || opts.passwordStdin) throw new UsageError("--username is required when not on a terminal");
  const name = await read({ prompt: "Username: ", output: process.stderr });
  if (!name) throw new UsageError("A username is required");
  return name;
}

async function signIn(ctx: Context, opts: LoginOptions, mode: "signin" | "signup"): Promise<void> {
  const username = await usernameFrom(opts);
  const password = await passwordFrom(opts);
  ctx.username = username;
  if (mode === "signup") {
    await ctx.client.signUp({ username, password });
  } else {
    try {
      await ctx.client.signIn({ username, password, otp: opts.otp });
    } catch (e) {
      // Two-factor accounts: ask for the code on a terminal.
      if (!(e instanceof FilestoreError && e.details.reason === "otp_required" && !opts.otp && process.stdin.isTTY && !opts.passwordStdin)) throw e;
      const otp = await read({ prompt: "Two-factor code: ", output: process.stderr });
      await ctx.client.signIn({ username, password, otp });
    }
  }
  await setDefaultServer(ctx.url);
  ctx.out.line(`${mode === "signup" ? "Signed up and logged in" : "Logged in"} to ${ctx.url} as ${username}`);
  ctx.out.result({ url: ctx.url, username });
}

export function registerAuth(program: Command, globals: () => GlobalOptions): void {
  const loginOptions = (cmd: Command) =>
    cmd
      .option("-u, --username <name>", "account name (asked on a terminal when missing)")
      .option("--password-stdin", "read the password from standard input (for scripts)");

  loginOptions(
    program
      .command("login")
      .description("sign in and keep the token pair in $XDG_CONFIG_HOME/filestore (mode 0600)")
      .option("--otp <code>", "two-factor code (TOTP or recovery code), for accounts that have it on"),
  ).action(async (opts: LoginOptions) => signIn(await createContext(globals(), { requireLogin: false }), opts, "signin"));

  loginOptions(program.command("signup").description("create an account and sign in to it")).action(async (opts: LoginOptions) =>
    signIn(await createContext(globals(), { requireLogin: false }), opts, "signup"),
  );

  program
    .command("logout")
    .description("end this sign-in on the server and delete its stored tokens")
    .action(async () => {
      const ctx = await createContext(globals(), { requireLogin: false });
      const was = ctx.username;
      await ctx.client.signOut();
      ctx.out.line(was ? `Logged out of ${ctx.url} (${was})` : `Not logged in to ${ctx.url}`);
      ctx.out.result({ url: ctx.url, username: was || null });
    });

  program
    .command("whoami")
    .description("the signed-in account and its quota")
    .action(async () => {
      const ctx = await createContext(globals());
      const me = await ctx.client.me();
      const pct = me.quotaBytes > 0 ? ` (${((me.usedBytes / me.quotaBytes) * 100).toFixed(1)}%)` : "";
      ctx.out.line(`${me.username} on ${ctx.url}`);
      ctx.out.line(`quota: ${humanSize(me.usedBytes)} of ${humanSize(me.quotaBytes)} used${pct}, ${humanSize(Math.max(0, me.quotaBytes - me.usedBytes))} free`);
      ctx.out.result({ url: ctx.url, ...me });
    });
}
