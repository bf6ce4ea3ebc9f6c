import os from "node:os";
import path from "node:path";

// The command line's one reader of process.env (the server's is src/env.ts, which validates the
// server's configuration; the CLI needs none of it).

export const cliEnv = {
  /** The drive to talk to when no --url is given. */
  url: process.env.FILESTORE_URL || undefined,
  /** Config (token pairs, per server): $XDG_CONFIG_HOME/filestore, else ~/.config/filestore. */
  configDir: path.join(process.env.XDG_CONFIG_HOME || path.join(os.homedir(), ".config"), "filestore"),
  /** The upload journal: $XDG_STATE_HOME/filestore, else ~/.local/state/filestore. */
  stateDir: path.join(process.env.XDG_STATE_HOME || path.join(os.homedir(), ".local", "state"), "filestore"),
};
