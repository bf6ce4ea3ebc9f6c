import { FilestoreClient, normalizeUrl } from "../client/client";
import { FilestoreError } from "../client/errors";
import { DrivePaths } from "../client/paths";
import { configTokenStore, readServer, readSettings } from "./config";
import { cliEnv } from "./env";
import { UsageError } from "./exit-codes";
import { createOutput, type Output } from "./output";

// What every command starts from: the server (--url, else FILESTORE_URL, else the server of the
// last login), a client signed in with that server's stored tokens, and the output settings.

export interface GlobalOptions {
  url?: string;
  json?: boolean;
  quiet?: boolean;
}

export interface Context {
  url: string;
  client: FilestoreClient;
  paths: DrivePaths;
  out: Output;
  /** The username of the stored sign-in ("" before login). */
  username: string;
}

export async function serverUrl(opts: GlobalOptions): Promise<string> {
  const raw = opts.url ?? cliEnv.url ?? (await readSettings()).defaultServer;
  if (!raw) throw new UsageError("No server: pass --url URL, set FILESTORE_URL, or log in first");
  try {
    return normalizeUrl(raw);
  } catch (e) {
    throw new UsageError(e instanceof Error ? e.message : String(e));
  }
}

export async function createContext(opts: GlobalOptions, { requireLogin = true } = {}): Promise<Context> {
  const url = await serverUrl(opts);
  const stored = await readServer(url);
  if (requireLogin && !stored) throw new FilestoreError("UNAUTHORIZED", `Not logged in to ${url}: run \`filestore login --url ${url}\``);
  let username = stored?.username ?? "";
  const client = new FilestoreClient({
    url,
    tokens: configTokenStore(url, () => username || undefined),
    headers: { "user-agent": "filestore-cli" },
  });
  return {
    url,
    client,
    paths: new DrivePaths(client),
    out: createOutput({ json: !!opts.json, quiet: !!opts.quiet }),
    get username() {
      return username;
    },
    set username(name: string) {
      username = name;
    },
  };
}
