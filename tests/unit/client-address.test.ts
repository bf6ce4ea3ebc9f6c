import { describe, expect, it } from "vitest";
import { clientAddress, stampRemoteAddress, trustedAddressHeaders } from "~/server/http/client-address";

describe("clientAddress", () => {
  it("believes the address the server stamped", () => {
    expect(clientAddress(new Headers(trustedAddressHeaders("203.0.113.7")))).toBe("203.0.113.7");
  });

  it("ignores an address a client sent itself (no key, or a wrong key)", () => {
    expect(clientAddress(new Headers({ "x-filestore-remote-addr": "198.51.100.1" }))).toBe("unknown");
    expect(
      clientAddress(new Headers({ "x-filestore-remote-addr": "198.51.100.1", "x-filestore-remote-key": "guess" })),
    ).toBe("unknown");
  });

  it("overwrites a spoofed header with the socket address", () => {
    const headers: Record<string, string> = { "x-filestore-remote-addr": "198.51.100.1", "x-filestore-remote-key": "guess" };
    stampRemoteAddress(headers, "192.0.2.9");
    expect(clientAddress(new Headers(headers))).toBe("192.0.2.9");
  });

  it("ignores X-Forwarded-For unless TRUST_PROXY is set", () => {
    expect(clientAddress(new Headers({ "x-forwarded-for": "198.51.100.2" }))).toBe("unknown");
  });
});
