import { FilestoreError } from "./errors";

// The token pair of a script's sign-in (API.md "Authentication"): a short-lived access token and a
// single-use refresh token. TokenKeeper hands out a valid access token, refreshing at most once at
// a time: parallel requests that meet an expired token all wait for the same refresh, because a
// refresh token presented twice is taken as theft and ends the whole sign-in.

export interface TokenPair {
  accessToken: string;
  refreshToken: string;
  accessExpiresAt: Date;
}

/**
 * Where a sign-in's tokens live between calls (memory, a config file …). `exclusive`, when given,
 * runs a refresh under a lock shared with other processes using the same store, so two commands
 * started together never spend the same refresh token.
 */
export interface TokenStore {
  load(): Promise<TokenPair | null>;
  save(tokens: TokenPair | null): Promise<void>;
  exclusive?<T>(fn: () => Promise<T>): Promise<T>;
}

export function memoryTokenStore(initial: TokenPair | null = null): TokenStore {
  let tokens = initial;
  return {
    load: async () => tokens,
    save: async (next) => {
      tokens = next;
    },
  };
}

/** Refresh a little before the server would refuse the token (a request authenticates when it starts). */
const EARLY_MS = 10_000;
/** A token obtained this recently is not refreshed early (a client clock far ahead of the server's). */
const MIN_AGE_MS = 5_000;

export class TokenKeeper {
  private tokens: TokenPair | null = null;
  private loaded = false;
  private obtainedAt = 0;
  private refreshing: Promise<TokenPair> | null = null;
  /** How many refreshes this keeper made (tests and progress output). */
  refreshCount = 0;

  constructor(
    private readonly store: TokenStore,
    private readonly refreshCall: (refreshToken: string) => Promise<TokenPair>,
  ) {}

  async current(): Promise<TokenPair | null> {
    if (!this.loaded) {
      this.tokens = await this.store.load();
      this.loaded = true;
      this.obtainedAt = 0;
    }
    return this.tokens;
  }

  async set(tokens: TokenPair | null): Promise<void> {
    this.tokens = tokens;
    this.loaded = true;
    this.obtainedAt = Date.now();
    await this.store.save(tokens);
  }

  /** A usable access token, or null when not signed in. */
  async accessToken(): Promise<string | null> {
    const tokens = await this.current();
    if (!tokens) return null;
    const early = tokens.accessExpiresAt.getTime() - Date.now() < EARLY_MS;
    if (early && Date.now() - this.obtainedAt > MIN_AGE_MS) return this.refreshAfter(tokens.accessToken);
    return tokens.accessToken;
  }

  /**
   * The server refused `rejected` (401), or it is about to expire: a fresh access token. When the
   * token in hand is already another one, somebody refreshed meanwhile and that one is returned.
   */
  async refreshAfter(rejected: string): Promise<string> {
    const tokens = await this.current();
    if (tokens && tokens.accessToken !== rejected) return tokens.accessToken;
    this.refreshing ??= this.refreshOnce().finally(() => {
      this.refreshing = null;
    });
    return (await this.refreshing).accessToken;
  }

  private async refreshOnce(): Promise<TokenPair> {
    const run = async (): Promise<TokenPair> => {
      const mine = this.tokens;
      // Another process sharing the store may have refreshed this sign-in already: take its pair.
      const stored = await this.store.load();
      if (stored && mine && stored.refreshToken !== mine.refreshToken) {
        this.tokens = stored;
        this.obtainedAt = Date.now();
        return stored;
      }
      const from = stored ?? mine;
      if (!from) throw new FilestoreError("UNAUTHORIZED", "Not signed in");
      let next: TokenPair;
      try {
        next = await this.refreshCall(from.refreshToken);
      } catch (e) {
        if (e instanceof FilestoreError && e.code === "UNAUTHORIZED") {
          // The sign-in ended (signed out elsewhere, expired, or revoked): forget it.
          await this.set(null);
          throw new FilestoreError("UNAUTHORIZED", "The sign-in has ended; sign in again", { status: e.status, cause: e });
        }
        throw e;
      }
      this.refreshCount++;
      await this.set(next);
      return next;
    };
    return this.store.exclusive ? this.store.exclusive(run) : run();
  }
}
