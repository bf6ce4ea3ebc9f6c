import type http from "node:http";
import type { inferRouterInputs, inferRouterOutputs } from "@trpc/server";
import type { AppRouter } from "../server/trpc/root";
import { FilestoreError, fromTrpcError } from "./errors";
import { discard, sendRaw, type RawRequest } from "./http";
import { memoryTokenStore, TokenKeeper, type TokenPair, type TokenStore } from "./tokens";
import { createTrpc, type Trpc } from "./trpc";

export type RouterInputs = inferRouterInputs<AppRouter>;
export type RouterOutputs = inferRouterOutputs<AppRouter>;
/** A file or folder as the API returns it (API.md "Files and folders"). */
export type Entry = RouterOutputs["file"]["get"];

export interface ClientOptions {
  /** The drive's origin, e.g. http://localhost:3000 */
  url: string;
  /** Where the sign-in's tokens live (default: memory), or a pair to start from. */
  tokens?: TokenStore | TokenPair | null;
  /** Extra headers on every request (e.g. a User-Agent). */
  headers?: Record<string, string>;
}

export interface Credentials {
  username: string;
  password: string;
  /** A TOTP or recovery code, for accounts with two-factor sign-in. */
  otp?: string;
}

/** Normalises a drive origin: scheme and host, no trailing slash. */
export function normalizeUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `http://${raw}`);
  } catch {
    throw new FilestoreError("BAD_REQUEST", `Not a server URL: ${raw}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new FilestoreError("BAD_REQUEST", `Not an http(s) URL: ${raw}`);
  return `${url.origin}${url.pathname.replace(/\/+$/, "")}`;
}

function isTokenStore(t: ClientOptions["tokens"]): t is TokenStore {
  return !!t && typeof (t as TokenStore).load === "function";
}

/**
 * A signed-in connection to one drive: the typed tRPC client (`client.trpc.file.list.query(…)`),
 * raw byte requests with the same credentials, and the helpers in upload.ts, download.ts and
 * paths.ts built on them.
 */
export class FilestoreClient {
  readonly url: string;
  readonly trpc: Trpc;
  readonly tokens: TokenKeeper;
  private readonly headers: Record<string, string>;

  constructor(opts: ClientOptions) {
    this.url = normalizeUrl(opts.url);
    this.headers = opts.headers ?? {};
    const store = isTokenStore(opts.tokens) ? opts.tokens : memoryTokenStore(opts.tokens ?? null);
    // Refreshes go through a client of their own, outside the retry-on-401 link.
    const bare = createTrpc(this.url, null, this.headers);
    this.tokens = new TokenKeeper(store, async (refreshToken) => {
      try {
        return await bare.auth.refresh.mutate({ refreshToken });
      } catch (e) {
        throw fromTrpcError(e, this.url);
      }
    });
    this.trpc = createTrpc(this.url, this.tokens, this.headers);
  }

  /** Runs a typed call and turns what it throws into a FilestoreError (codes as in API.md). */
  async call<T>(fn: (trpc: Trpc) => Promise<T>): Promise<T> {
    try {
      return await fn(this.trpc);
    } catch (e) {
      throw fromTrpcError(e, this.url);
    }
  }

  async signIn(credentials: Credentials): Promise<TokenPair> {
    const { otp, ...rest } = credentials;
    const pair = await this.call((t) => t.auth.signin.mutate({ ...rest, ...(otp ? { otp } : {}) }));
    await this.tokens.set(pair);
    return pair;
  }

  async signUp(credentials: Omit<Credentials, "otp">): Promise<TokenPair> {
    const pair = await this.call((t) => t.auth.signup.mutate(credentials));
    await this.tokens.set(pair);
    return pair;
  }

  /** Ends this sign-in on the server (its refresh and access tokens stop working) and forgets it. */
  async signOut(): Promise<void> {
    const tokens = await this.tokens.current();
    if (tokens) {
      try {
        await this.call((t) => t.auth.signout.mutate({ refreshToken: tokens.refreshToken }));
      } catch (e) {
        // Already ended on the server: forgetting it locally is all that is left to do.
        if (!(e instanceof FilestoreError && e.code === "UNAUTHORIZED")) throw e;
      }
    }
    await this.tokens.set(null);
  }

  me() {
    return this.call((t) => t.user.me.query());
  }

  /** An absolute URL on this drive for a path such as `/api/files/x/content` or `/s/token`. */
  href(path: string): string {
    return new URL(path, `${this.url}/`).toString();
  }

  /**
   * A raw request with the sign-in's bearer token. A 401 refreshes the token (once, shared) and
   * sends the request again, body included (`body` is a factory for that reason).
   */
  async raw(req: Omit<RawRequest, "url"> & { path: string }): Promise<http.IncomingMessage> {
    const url = this.href(req.path);
    const send = (token: string | null) =>
      sendRaw({ ...req, url, headers: { ...this.headers, ...req.headers, ...(token ? { authorization: `Bearer ${token}` } : {}) } });
    const token = await this.tokens.accessToken();
    const res = await send(token);
    if (res.statusCode !== 401 || !token) return res;
    await discard(res);
    return send(await this.tokens.refreshAfter(token));
  }
}
