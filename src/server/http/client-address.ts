import { env } from "~/env";

/**
 * The client's address for throttling. X-Forwarded-For is honoured only with TRUST_PROXY (a client
 * could otherwise pick a fresh address per request); the custom server and route handlers put the
 * socket address in x-filestore-remote-addr, overwriting anything a client sent.
 */
export function clientAddress(headers: Headers): string {
  if (env.TRUST_PROXY) {
    const forwarded = headers.get("x-forwarded-for")?.split(",")[0]?.trim();
    if (forwarded) return forwarded;
  }
  return headers.get("x-filestore-remote-addr") ?? "unknown";
}
