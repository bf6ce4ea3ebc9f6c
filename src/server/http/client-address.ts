import { randomBytes } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import { env } from "~/env";

// The client's address, for throttling. Next does not expose the socket to route handlers, so the
// custom server (src/server/main.ts) stamps the socket address into a header together with a key
// that only this process knows: a client sending its own x-filestore-remote-addr (under plain
// `next start`, or through the custom server) cannot choose its address, because it cannot know
// the key. X-Forwarded-For is honoured only with TRUST_PROXY (behind a proxy the operator runs).

const ADDRESS_HEADER = "x-filestore-remote-addr";
const KEY_HEADER = "x-filestore-remote-key";

const holder = globalThis as unknown as { filestoreRemoteKey?: string };
function processKey(): string {
  holder.filestoreRemoteKey ??= randomBytes(24).toString("base64url");
  return holder.filestoreRemoteKey;
}

/** Headers that make `clientAddress` report `address` (the custom server and tests use this). */
export function trustedAddressHeaders(address: string): Record<string, string> {
  return { [ADDRESS_HEADER]: address, [KEY_HEADER]: processKey() };
}

/** Overwrites whatever the client sent with the socket's address (node:http request headers). */
export function stampRemoteAddress(headers: IncomingHttpHeaders, address: string | undefined): void {
  Object.assign(headers, trustedAddressHeaders(address ?? "unknown"));
}

export function clientAddress(headers: Headers): string {
  if (env.TRUST_PROXY) {
    const forwarded = headers.get("x-forwarded-for")?.split(",")[0]?.trim();
    if (forwarded) return forwarded;
  }
  const key = headers.get(KEY_HEADER);
  if (key && holder.filestoreRemoteKey && key === holder.filestoreRemoteKey) {
    return headers.get(ADDRESS_HEADER) ?? "unknown";
  }
  return "unknown";
}
