import { createHash, randomBytes } from "node:crypto";
import { chmod, mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import lockfile from "proper-lockfile";
import type { TokenPair, TokenStore } from "../client/tokens";
import { cliEnv } from "./env";

// Where the command line keeps its sign-ins: one file per server under
// $XDG_CONFIG_HOME/filestore/servers/, readable by the user alone (0600, directory 0700), written
// atomically (temporary file + rename), plus config.json naming the server used last.
// A refresh holds a lock on the server's file, so two commands started at once never present the
// same single-use refresh token (the server would take that as theft and end the sign-in).

export interface ServerConfig {
  url: string;
  username: string;
  accessToken: string;
  refreshToken: string;
  accessExpiresAt: string;
}

interface Settings {
  defaultServer?: string;
}

const settingsPath = () => path.join(cliEnv.configDir, "config.json");
const serversDir = () => path.join(cliEnv.configDir, "servers");

/** servers/<host>_<port>-<hash>.json: readable, and distinct for every origin. */
export function serverConfigPath(url: string): string {
  const u = new URL(url);
  const readable = `${u.hostname}_${u.port || (u.protocol === "https:" ? "443" : "80")}`.replace(/[^a-zA-Z0-9._-]/g, "_");
  const hash = createHash("sha256").update(url).digest("hex").slice(0, 10);
  return path.join(serversDir(), `${readable}-${hash}.json`);
}

async function ensureDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
}

/** Writes a file readable by the owner alone, atomically. */
async function writePrivate(file: string, data: string): Promise<void> {
  await ensureDir(path.dirname(file));
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  await writeFile(tmp, data, { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, file);
}

async function readJson<T>(file: string): Promise<T | null> {
  try {
    return JSON.parse(await readFile(file, "utf8")) as T;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
    if (e instanceof SyntaxError) throw new Error(`${file} is damaged (${e.message}); delete it and log in again`);
    throw e;
  }
}

export async function readSettings(): Promise<Settings> {
  return (await readJson<Settings>(settingsPath())) ?? {};
}

export async function setDefaultServer(url: string | undefined): Promise<void> {
  const settings = await readSettings();
  if (url) settings.defaultServer = url;
  else delete settings.defaultServer;
  await writePrivate(settingsPath(), `${JSON.stringify(settings, null, 2)}\n`);
}

export async function readServer(url: string): Promise<ServerConfig | null> {
  const file = serverConfigPath(url);
  const config = await readJson<ServerConfig>(file);
  if (config) {
    // Like ssh with a private key: tighten a file that others can read.
    const mode = (await stat(file)).mode & 0o777;
    if (mode & 0o077) await chmod(file, 0o600);
  }
  return config;
}

export async function writeServer(config: ServerConfig): Promise<void> {
  await writePrivate(serverConfigPath(config.url), `${JSON.stringify(config, null, 2)}\n`);
}

export async function removeServer(url: string): Promise<void> {
  await rm(serverConfigPath(url), { force: true });
}

/** The TokenStore of one server's config file (what FilestoreClient refreshes through). */
export function configTokenStore(url: string, username: () => string | undefined): TokenStore {
  return {
    async load() {
      const config = await readServer(url);
      if (!config) return null;
      return { accessToken: config.accessToken, refreshToken: config.refreshToken, accessExpiresAt: new Date(config.accessExpiresAt) };
    },
    async save(tokens: TokenPair | null) {
      if (!tokens) return removeServer(url);
      const name = username() ?? (await readServer(url))?.username ?? "";
      await writeServer({
        url,
        username: name,
        accessToken: tokens.accessToken,
        refreshToken: tokens.refreshToken,
        accessExpiresAt: new Date(tokens.accessExpiresAt).toISOString(),
      });
    },
    async exclusive<T>(fn: () => Promise<T>): Promise<T> {
      const file = serverConfigPath(url);
      await ensureDir(path.dirname(file));
      const release = await lockfile.lock(file, {
        realpath: false,
        stale: 30_000,
        retries: { retries: 100, minTimeout: 50, maxTimeout: 500 },
      });
      try {
        return await fn();
      } finally {
        await release().catch(() => {});
      }
    },
  };
}
